import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { notModified, rangeApplies } from '../../src/gateway/conditional.ts'
import { parseRange } from '../../src/gateway/index.ts'

it('parseRange: single byte ranges per RFC 9110 §14.1.2', () => {
  assert.equal(parseRange(undefined, 100), undefined)
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 })
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 })
  assert.deepEqual(parseRange('bytes=95-500', 100), { start: 95, end: 99 })
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable')
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable')
  // Ignored (whole representation): several ranges, other units, malformed, inverted.
  for (const header of ['bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=-', 'bytes=9-3']) {
    assert.equal(parseRange(header, 100), undefined, header)
  }
})

it('property: a range parseRange returns always lies inside the representation', () => {
  fc.assert(
    fc.property(fc.string(), fc.nat({ max: 1e9 }), (tail, size) => {
      const range = parseRange(`bytes=${tail}`, size)
      if (range === undefined || range === 'unsatisfiable') return
      assert.ok(range.start >= 0 && range.start <= range.end && range.end < size)
    }),
  )
  fc.assert(
    fc.property(fc.nat(), fc.option(fc.nat()), fc.nat({ max: 1e9 }), (a, b, size) => {
      const range = parseRange(`bytes=${a}-${b ?? ''}`, size)
      if (range === undefined || range === 'unsatisfiable') return
      assert.ok(range.start === a && range.end < size)
    }),
  )
})

it('conditional requests: If-None-Match (weak), If-Modified-Since, If-Range (strong)', () => {
  const etag = '"abc"'
  const modified = new Date('2026-01-02T03:04:05.678Z')
  assert.equal(notModified({ 'if-none-match': '"x", W/"abc"' }, etag, modified), true)
  assert.equal(notModified({ 'if-none-match': '*' }, etag, modified), true)
  assert.equal(notModified({ 'if-none-match': '"x"' }, etag, modified), false)
  const since = modified.toUTCString()
  assert.equal(notModified({ 'if-modified-since': since }, etag, modified), true)
  assert.equal(
    notModified({ 'if-none-match': '"x"', 'if-modified-since': since }, etag, modified),
    false,
  )
  assert.equal(notModified({}, etag, modified), false)
  assert.equal(rangeApplies({}, etag, modified), true)
  assert.equal(rangeApplies({ 'if-range': '"abc"' }, etag, modified), true)
  assert.equal(rangeApplies({ 'if-range': 'W/"abc"' }, etag, modified), false)
  assert.equal(rangeApplies({ 'if-range': since }, etag, modified), true)
})
