import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { decodeFrame, encodeFrame, type FrameHead } from '../../src/queue/remote/protocol.ts'

it('frames round-trip any head and payloads', () => {
  fc.assert(
    fc.property(
      fc.record({ op: fc.string(), id: fc.nat(), note: fc.option(fc.string()) }),
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
      (head, payloads) => {
        const frame = decodeFrame(encodeFrame(head, payloads))
        assert.equal(frame.head.op, head.op)
        assert.equal(frame.head.id, head.id)
        assert.deepEqual(
          frame.payloads.map((p) => Buffer.from(p)),
          payloads.map((p) => Buffer.from(p)),
        )
      },
    ),
  )
})

it('any truncation or garbage is E_QUEUE_PROTOCOL, never another error', () => {
  const valid = encodeFrame({ op: 'publish', id: 3 }, [Buffer.from('hello'), Buffer.from('x')])
  fc.assert(
    fc.property(fc.nat(valid.length - 1), (cut) => {
      assert.throws(() => decodeFrame(valid.subarray(0, cut)), { code: 'E_QUEUE_PROTOCOL' })
    }),
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeFrame(bytes)
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'E_QUEUE_PROTOCOL')
      }
    }),
  )
})

it('names what is wrong with a frame', () => {
  const json = (text: string) => {
    const body = Buffer.from(text)
    const head = Buffer.alloc(4)
    head.writeUInt32LE(body.length)
    return Buffer.concat([head, body])
  }
  assert.throws(() => decodeFrame(json('{"id":1}')), /no "op"/)
  assert.throws(() => decodeFrame(json('{"op":"x","id":1.5}')), /"id" is not an integer/)
  assert.throws(() => decodeFrame(json('{"op":"x","sizes":[-1]}')), /"sizes"/)
  assert.throws(() => decodeFrame(json('nope')), /does not parse/)
  assert.throws(
    () => decodeFrame(Buffer.concat([json('{"op":"x"}'), Buffer.from('!')])),
    /1 bytes after/,
  )
})

it('a frame whose "received" is not an integer is E_QUEUE_PROTOCOL', () => {
  for (const received of ['3', 1.5, -0.5, null]) {
    // A hostile client's head: not what FrameHead allows.
    const head = { op: 'ack', id: 4, received } as unknown as FrameHead
    assert.throws(() => decodeFrame(encodeFrame(head)), {
      code: 'E_QUEUE_PROTOCOL',
      message: /"received" is not an integer/,
    })
  }
  assert.equal(decodeFrame(encodeFrame({ op: 'ack', id: 4, received: 4 })).head.received, 4)
})
