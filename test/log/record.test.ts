import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { decodeRecord, encodeRecord } from '../../src/log/index.ts'

const recordArb = fc.record({
  offset: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  headers: fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }),
  payload: fc.uint8Array({ maxLength: 500 }),
})

it('property: any record round-trips', () => {
  fc.assert(
    fc.property(recordArb, (record) => {
      const bytes = encodeRecord(record)
      const decoded = decodeRecord(bytes, 0)
      assert.equal(decoded.kind, 'record')
      if (decoded.kind !== 'record') return
      assert.equal(decoded.size, bytes.length)
      const plain = (h: Record<string, string>) => Object.entries(h)
      assert.deepEqual(plain(decoded.record.headers), plain(record.headers))
      assert.deepEqual(new Uint8Array(decoded.record.payload), record.payload)
      assert.equal(decoded.record.offset, record.offset)
      assert.equal(decoded.record.timestamp, record.timestamp)
    }),
  )
})

it('property: any truncation is incomplete and any flipped byte is caught', () => {
  fc.assert(
    fc.property(recordArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (record, at, xor) => {
      const bytes = encodeRecord(record)
      assert.equal(decodeRecord(bytes.subarray(0, at % bytes.length), 0).kind, 'incomplete')
      const flipped = new Uint8Array(bytes)
      const i = at % bytes.length
      flipped[i]! ^= xor
      const decoded = decodeRecord(flipped, 0)
      // A flipped length may make the record look longer than the bytes: incomplete, not wrong.
      assert.notEqual(decoded.kind, 'record', `flip at ${i} went unnoticed`)
    }),
  )
})
