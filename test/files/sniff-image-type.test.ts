import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import fc from 'fast-check'
import { contentTypeOf, sniffImageType } from '../../src/files/sniff-image-type.ts'
import { IMAGE_SIZE_CLASSES, imageFormat, imageSizeClass } from '../../src/stats/image-classes.ts'

const FIXTURES = join(import.meta.dirname, '../fixtures/images')
const TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/heic',
  'image/tiff',
]

it('real photos are recognised by their first bytes', async () => {
  for (const name of await readdir(FIXTURES)) {
    if (name.endsWith('.md')) continue
    const bytes = await readFile(join(FIXTURES, name))
    const expected = name.endsWith('.png') ? 'image/png' : 'image/jpeg'
    assert.equal(sniffImageType(bytes.subarray(0, 16)), expected, name)
    assert.equal(contentTypeOf(undefined, bytes), expected)
    assert.equal(contentTypeOf('application/octet-stream', bytes), expected)
  }
})

it('any bytes: a known image type or none, never an error; a type the client gave is kept', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 32 }), fc.string(), (head, given) => {
      const sniffed = sniffImageType(head)
      assert.ok(sniffed === undefined || TYPES.includes(sniffed))
      const stored = contentTypeOf(given, head)
      // A media type without its parameters (RFC 9110, 8.3.1) that says what the bytes are.
      const essence = given.split(';')[0]!.trim().toLowerCase()
      const unsaid = ['', 'application/octet-stream', 'application/x-www-form-urlencoded']
      if (!unsaid.includes(essence)) assert.equal(stored, given)
      else assert.equal(stored, sniffed ?? 'application/octet-stream')
    }),
    { numRuns: 2000 },
  )
})

it('image formats from content types are metric-safe names; sizes fall in one class', () => {
  assert.equal(imageFormat('image/jpeg; charset=x'), 'jpeg')
  assert.equal(imageFormat('IMAGE/JPG'), 'jpeg')
  assert.equal(imageFormat('image/svg+xml'), 'svg')
  assert.equal(imageFormat('image/x-icon'), 'icon')
  assert.equal(imageFormat('text/plain'), undefined)
  assert.equal(imageSizeClass(99_999), 'under_100kb')
  assert.equal(imageSizeClass(100_000), '100kb_to_1mb')
  assert.equal(imageSizeClass(50_000_000), 'over_10mb')
  fc.assert(
    fc.property(fc.string(), fc.nat(), (subtype, bytes) => {
      const format = imageFormat(`image/${subtype}`)
      assert.ok(format === undefined || /^[a-z0-9-]{1,32}$/.test(format), String(format))
      assert.ok(IMAGE_SIZE_CLASSES.includes(imageSizeClass(bytes)))
    }),
  )
})
