/**
 * A bare WebSocket echo in its own process (`node ws-echo.ts`): prints its port, then sends
 * every binary message back. The queue benchmark times it as the floor under a served queue's
 * latency: two processes and a round trip on loopback, and nothing else.
 */
import { WebSocketServer } from 'ws'

const server: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = server.address() as { port: number }
  process.stdout.write(`${port}\n`)
})
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
