/**
 * A bare WebSocket echo in its own process (`node ws-echo.ts [FILE]`): prints its port, then
 * sends every binary message back. With FILE, each message is first written to it through an
 * O_DSYNC descriptor, as Piper's log writes a durable batch. The queue benchmark times both as
 * the floors under a served queue's latency: two processes, a round trip on loopback, and (with
 * FILE) the disk's sync, with nothing else.
 */
import { constants, openSync, write } from 'node:fs'
import { WebSocketServer } from 'ws'

const file = process.argv[2]
const fd = file
  ? openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC)
  : undefined
let position = 0

const server: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = server.address() as { port: number }
  process.stdout.write(`${port}\n`)
})
server.on('connection', (socket) => {
  socket.on('message', (data: Buffer, isBinary) => {
    if (fd === undefined) return socket.send(data, { binary: isBinary })
    write(fd, data, 0, data.length, position, (error) => {
      // A floor measured past a failed write would be a wrong floor: stop loudly.
      if (error) throw error
      socket.send(data, { binary: isBinary })
    })
    position += data.length
  })
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
