import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { readSse } from '../../src/cli/sse-reader.ts'

async function parse(pieces: Uint8Array[]) {
  const events = []
  for await (const event of readSse(
    (async function* () {
      yield* pieces
    })(),
  ))
    events.push(event)
  return events
}

/** Cuts `bytes` at the given points (sorted, deduplicated, inside the array). */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let from = 0
  for (const p of [...at, bytes.length]) {
    pieces.push(bytes.subarray(from, p))
    from = p
  }
  return pieces
}

const line = fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\r\n]/g, ' '))
const event = fc.record({
  id: fc.integer({ min: 0, max: 1e12 }).map(String),
  event: fc.constantFrom('state', 'progress', 'message'),
  data: fc.array(line, { minLength: 1, maxLength: 3 }).map((lines) => lines.join('\n')),
})

it('reads back any events, whatever the line endings and wherever the stream is cut', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(event, { maxLength: 6 }),
      fc.constantFrom('\n', '\r\n', '\r'),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (events, eol, points) => {
        let text = `: comment${eol}retry: 2000${eol}${eol}`
        for (const e of events) {
          text += `id: ${e.id}${eol}event: ${e.event}${eol}`
          for (const l of e.data.split('\n')) text += `data: ${l}${eol}`
          text += eol
        }
        const parsed = await parse(cut(Buffer.from(text), points))
        assert.deepEqual(
          parsed,
          events.map((e) => ({ ...e })),
        )
      },
    ),
  )
})

it('keeps the last id for events without one, and drops events without data', async () => {
  const text = 'id: 7\ndata: a\n\nevent: x\n\ndata: b\n\n'
  assert.deepEqual(await parse([Buffer.from(text)]), [
    { id: '7', event: 'message', data: 'a' },
    { id: '7', event: 'message', data: 'b' },
  ])
})
