// A queue client for the crash tests, run as its own process so the test can kill -9 it.
//   produce URL TOPIC ID   publishes forever, 32 in flight; prints "offset payload-id" per confirm
//   consume URL TOPIC GROUP  fetches, acks even offsets ("acked N"), holds odd ones ("holding N"),
//                            prints "ready" and waits to be killed
import { createHash } from 'node:crypto'
import { queueFor } from '../../src/config/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const [mode, url, topic, name] = process.argv.slice(2) as [string, string, string, string]
const queue = await queueFor(url, {
  logger: createLogger({ level: 'silent' }),
  token: process.env.PIPER_QUEUE_TOKEN,
})
await queue.start()

/** Payload `id` (e.g. `p1-42`) followed by filler whose length varies with the number. */
export function payloadOf(id: string): Buffer {
  const n = Number(id.split('-')[1])
  return Buffer.from(`${id}:${'x'.repeat((n * 37) % 3000)}`)
}

if (mode === 'produce') {
  let next = 0
  const producer = async () => {
    for (;;) {
      const id = `${name}-${next++}`
      const payload = payloadOf(id)
      const sha = createHash('sha256').update(payload).digest('hex')
      const offset = await queue.publish(topic, payload, { headers: { sha } })
      process.stdout.write(`${offset} ${id}\n`)
    }
  }
  await Promise.all(Array.from({ length: 32 }, producer))
} else if (mode === 'consume') {
  const consumer = await queue.consumer(topic, name, { ackWaitMs: 1500 })
  let held = 0
  while (held < 10) {
    for (const m of await consumer.fetch(20, 1000)) {
      if (m.offset % 2 === 0) {
        await consumer.ack(m)
        process.stdout.write(`acked ${m.offset}\n`)
      } else {
        held++
        process.stdout.write(`holding ${m.offset}\n`)
      }
    }
  }
  process.stdout.write('ready\n')
  await new Promise(() => {})
}
