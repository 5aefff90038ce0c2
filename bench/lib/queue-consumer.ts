/**
 * A benchmark consumer in its own process: `node queue-consumer.ts KIND TOPIC SERVE_URL`.
 * Prints "ready" once consuming, then every 20 ms the number of messages consumed since.
 */
import { openPeer, type PeerKind } from './queue-peers.ts'

const [kind, topic, serveUrl] = process.argv.slice(2) as [PeerKind, string, string]
const peer = await openPeer(kind, topic, { dir: '', serveUrl, join: true })
let count = 0
const stop = await peer.consume(() => {
  count++
})
process.stdout.write('ready\n')
setInterval(() => {
  if (count === 0) return
  process.stdout.write(`${count}\n`)
  count = 0
}, 20)
process.on('SIGTERM', async () => {
  await stop()
  process.exit(0)
})
