import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

/** Writes `line-0` … `line-(count-1)`, one per line, as fast as `stdin` takes them; then ends it. */
export async function writeLines(stdin: Writable, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i)
    const block = Array.from({ length: n }, (_, j) => `line-${i + j}\n`).join('')
    if (!stdin.write(block)) await once(stdin, 'drain')
  }
  stdin.end()
}

/** How many times each payload is stored in `topic` of the embedded queue in `dir`. */
export async function storedPayloads(dir: string, topic: string): Promise<Map<string, number>> {
  const queue = new EmbeddedQueue({ dir, logger: createLogger({ level: 'silent' }) })
  await queue.start()
  const counts = new Map<string, number>()
  try {
    const consumer = await queue.consumer(topic, 'count-stored')
    for (;;) {
      const batch = await consumer.fetch(5000, 100)
      if (batch.length === 0) break
      for (const m of batch) {
        const text = Buffer.from(m.payload).toString()
        counts.set(text, (counts.get(text) ?? 0) + 1)
      }
      await Promise.all(batch.map((m) => consumer.ack(m)))
    }
    await consumer.close()
  } finally {
    await queue.close()
  }
  return counts
}
