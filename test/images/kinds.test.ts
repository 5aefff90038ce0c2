import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { hammingDistance, perceptualHashes, type RawImage } from '../../src/images/index.ts'
import { isTerminal, parseJobRequest } from '../../src/jobs/index.ts'
import type { JobRecord } from '../../src/meta/index.ts'
import { type StartedJobSystem, startJobSystem } from '../helpers/job-system.ts'

const IMAGES = join(import.meta.dirname, '../fixtures/images')
const FACES = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
)

/** A PNG whose header claims `width × height` pixels, with almost no data behind it. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

async function pixels(bytes: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(bytes, { autoOrient: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels as 3 }
}

describe('image kinds', () => {
  let s: StartedJobSystem
  before(async () => {
    s = await startJobSystem({ workers: true, chunkSize: 64 * 1024 })
  })
  after(() => s.close())

  const put = async (name: string, bytes: Buffer, contentType = 'image/jpeg') =>
    s.files.put('ann', name, [bytes], { contentType })
  const read = async (name: string) => {
    const file = await s.files.stat('ann', name)
    const pieces: Uint8Array[] = []
    for await (const piece of s.files.read(file)) pieces.push(piece)
    return Buffer.concat(pieces)
  }

  /** Runs a job and waits for it to end (by polling its state; no deadline but the test's). */
  async function run(body: Record<string, unknown>): Promise<JobRecord> {
    const { job } = await s.jobs.create('ann', parseJobRequest(body, s.kinds))
    for (;;) {
      const now = await s.jobs.get('ann', job.id)
      if (isTerminal(now.state)) return now
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it('resizes as displayed (EXIF orientation applied), without enlarging, keeping the format', async () => {
    const rocket = await readFile(join(IMAGES, 'rocket.jpg')) // 640 × 427
    // The same photo stored sideways with orientation 6 ("rotate 90° to display").
    const sideways = await sharp(rocket)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer()
    await put('rocket.jpg', rocket)
    await put('sideways.jpg', sideways)
    const small = await run({ type: 'image.resize', input: 'rocket.jpg', params: { width: 200 } })
    assert.equal(small.state, 'succeeded', JSON.stringify(small.error))
    assert.equal(small.output, 'rocket-200x.jpg')
    const meta = await sharp(await read('rocket-200x.jpg')).metadata()
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 200, 133])
    assert.equal(meta.exif, undefined, 'metadata is stripped by default')

    const turned = await run({
      type: 'image.resize',
      input: 'sideways.jpg',
      params: { width: 320, format: 'png' },
    })
    const upright = await sharp(await read(turned.output)).metadata()
    assert.deepEqual([upright.format, upright.width, upright.height], ['png', 320, 214])

    const big = await run({
      type: 'image.resize',
      input: 'rocket.jpg',
      output: 'big.jpg',
      params: { width: 2000, height: 2000, fit: 'inside' },
    })
    const same = await sharp(await read(big.output)).metadata()
    assert.deepEqual([same.width, same.height], [640, 427], 'not enlarged unless asked')

    const cover = await run({
      type: 'image.resize',
      input: 'rocket.jpg',
      output: 'square.webp',
      params: { width: 100, height: 100, fit: 'cover', gravity: 'attention', format: 'webp' },
    })
    const square = await sharp(await read(cover.output)).metadata()
    assert.deepEqual([square.format, square.width, square.height], ['webp', 100, 100])
  })

  it('makes every variant from one decode, and converts and filters', async () => {
    await put('coffee.png', await readFile(join(IMAGES, 'coffee.png')), 'image/png') // 600 × 400
    const job = await run({
      type: 'image.variants',
      input: 'coffee.png',
      params: { format: 'webp' },
    })
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
    assert.deepEqual(job.result?.outputs, [
      'coffee.png.variants/thumb.webp',
      'coffee.png.variants/small.webp',
      'coffee.png.variants/large.webp',
    ])
    const sizes = await Promise.all(
      (job.result!.outputs as string[]).map(async (n) => {
        const m = await sharp(await read(n)).metadata()
        return [m.format, m.width, m.height]
      }),
    )
    assert.deepEqual(sizes, [
      ['webp', 160, 107],
      ['webp', 480, 320],
      ['webp', 600, 400],
    ])

    for (const format of ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff']) {
      const converted = await run({
        type: 'image.convert',
        input: 'coffee.png',
        params: { format, quality: 60, effort: 1 },
      })
      assert.equal(converted.state, 'succeeded', `${format}: ${JSON.stringify(converted.error)}`)
      const m = await sharp(await read(converted.output)).metadata()
      assert.equal(m.format, format === 'avif' ? 'heif' : format)
      assert.deepEqual([m.width, m.height], [600, 400])
    }

    const grey = await run({
      type: 'image.filter',
      input: 'coffee.png',
      params: { greyscale: true, blur: 2 },
    })
    assert.equal(grey.output, 'coffee.filtered.png')
    const stats = await sharp(await read(grey.output)).stats()
    const [r, g, b] = stats.channels
    assert.ok(stats.channels.length === 1 || (r!.mean === g!.mean && g!.mean === b!.mean), 'grey')
  })

  it('refuses bad params naming the field', () => {
    assert.throws(
      () => parseJobRequest({ type: 'image.resize', input: 'x.jpg', params: {} }, s.kinds),
      {
        message: /image\.resize: params\.width or params\.height is required/,
      },
    )
    assert.throws(
      () =>
        parseJobRequest(
          { type: 'image.convert', input: 'x.jpg', params: { format: 'bmp' } },
          s.kinds,
        ),
      { message: /params\.format must be one of "jpeg"/ },
    )
    assert.throws(
      () => parseJobRequest({ type: 'image.filter', input: 'x.jpg', params: {} }, s.kinds),
      {
        message: /names no filter/,
      },
    )
  })

  it('fails a corrupt, cut-off, unsupported or oversized image with its code, and goes on working', async () => {
    const rocket = await readFile(join(IMAGES, 'rocket.jpg'))
    const cases: [string, Buffer, string][] = [
      ['cut.jpg', rocket.subarray(0, rocket.length >> 1), 'E_IMAGE_CORRUPT'],
      ['noise.jpg', Buffer.from('this is not an image at all, only words'), 'E_IMAGE_UNSUPPORTED'],
      ['bomb.png', pngClaiming(20_000, 20_000), 'E_IMAGE_TOO_LARGE'],
      [
        'drawing.svg',
        Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        ),
        'E_IMAGE_UNSUPPORTED',
      ],
    ]
    for (const [name, bytes, code] of cases) {
      await put(name, bytes)
      for (const type of ['image.resize', 'image.detect', 'image.analyze']) {
        const job = await run({
          type,
          input: name,
          params: type === 'image.resize' ? { width: 10 } : {},
        })
        assert.equal(job.state, 'failed', `${type} ${name}`)
        assert.equal(job.error?.code, code, `${type} ${name}: ${JSON.stringify(job.error)}`)
      }
    }
    const ok = await run({
      type: 'image.resize',
      input: 'rocket.jpg',
      output: 'after.jpg',
      params: { width: 10 },
    })
    assert.equal(ok.state, 'succeeded')
  })

  it('detects faces, and redact hides exactly those regions', async () => {
    const photo = await readFile(join(FACES, 'sample1.jpg'))
    await put('people.jpg', photo)
    const detect = await run({
      type: 'image.detect',
      input: 'people.jpg',
      params: { labels: ['face'] },
    })
    assert.equal(detect.state, 'succeeded', JSON.stringify(detect.error))
    const counts = detect.result?.counts as Record<string, number>
    assert.ok(counts.face! >= 3, `faces: ${JSON.stringify(detect.result)}`)
    assert.equal(detect.output, 'people.jpg.detections.json')
    const doc = JSON.parse((await read(detect.output)).toString())
    assert.equal(doc.image, 'people.jpg')
    assert.equal(doc.detections.length, counts.face)

    const redact = await run({
      type: 'image.redact',
      input: detect.output,
      params: { format: 'png', padding: 0 },
    })
    assert.equal(redact.state, 'succeeded', JSON.stringify(redact.error))
    assert.equal(redact.output, 'people.redacted.png')
    const before = await pixels(photo)
    const afterRedact = await pixels(await read(redact.output))
    assert.deepEqual([afterRedact.width, afterRedact.height], [before.width, before.height])
    const inside = (x: number, y: number) =>
      doc.detections.some(
        (d: { box: { x: number; y: number; width: number; height: number } }) =>
          x >= d.box.x && x < d.box.x + d.box.width && y >= d.box.y && y < d.box.y + d.box.height,
      )
    let changedInside = 0
    let totalInside = 0
    let changedOutside = 0
    for (let y = 0; y < before.height; y++) {
      for (let x = 0; x < before.width; x++) {
        const at = (y * before.width + x) * 3
        const diff =
          Math.abs(before.data[at]! - afterRedact.data[at]!) +
          Math.abs(before.data[at + 1]! - afterRedact.data[at + 1]!) +
          Math.abs(before.data[at + 2]! - afterRedact.data[at + 2]!)
        if (inside(x, y)) {
          totalInside++
          if (diff > 0) changedInside++
        } else if (diff > 0) changedOutside++
      }
    }
    assert.equal(changedOutside, 0, 'no pixel outside a face changes')
    assert.ok(changedInside / totalInside > 0.9, `inside changed: ${changedInside}/${totalInside}`)

    // An image replaced after detection is not redacted with stale boxes.
    await put('people.jpg', await readFile(join(FACES, 'sample2.jpg')))
    const stale = await run({ type: 'image.redact', input: detect.output })
    assert.equal(stale.state, 'failed')
    assert.match(stale.error?.message ?? '', /changed after/)
  })

  it('detects people and vehicles with their type', async () => {
    await put('moto.jpg', await readFile(join(IMAGES, 'motorcycle_left.jpg')))
    await put('astronaut.jpg', await readFile(join(IMAGES, 'astronaut.jpg')))
    const moto = await run({ type: 'image.detect', input: 'moto.jpg' })
    assert.equal(moto.state, 'succeeded', JSON.stringify(moto.error))
    assert.deepEqual(moto.result?.counts, {
      face: 0,
      person: 0,
      vehicle: 1,
      'vehicle.motorcycle': 1,
    })
    const astronaut = await run({
      type: 'image.detect',
      input: 'astronaut.jpg',
      params: { labels: ['person'] },
    })
    assert.deepEqual(astronaut.result?.counts, { person: 1 })
    const [found] = astronaut.result!.detections as { label: string; box: { width: number } }[]
    assert.equal(found?.label, 'person')
    assert.ok(found!.box.width > 256, 'the astronaut fills most of the 512 px picture')
  })

  it('hashes: a resized, re-encoded copy is near, another photo is far; stats read EXIF', async () => {
    const a = await pixels(await readFile(join(IMAGES, 'astronaut.jpg')))
    const copy = await pixels(
      await sharp(await readFile(join(IMAGES, 'astronaut.jpg')))
        .resize(300)
        .jpeg({ quality: 50 })
        .toBuffer(),
    )
    const other = await pixels(await readFile(join(IMAGES, 'coffee.png')))
    const [ha, hc, ho] = await Promise.all([a, copy, other].map(perceptualHashes))
    assert.ok(hammingDistance(ha!.phash, hc!.phash) <= 6, `copy ${ha!.phash} ${hc!.phash}`)
    assert.ok(hammingDistance(ha!.phash, ho!.phash) > 12, `other ${ha!.phash} ${ho!.phash}`)

    const tagged = await sharp(await readFile(join(IMAGES, 'coffee.png')))
      .jpeg()
      .withExif({ IFD0: { Make: 'Acme', Model: 'Acme Shooter 9' } })
      .toBuffer()
    await put('tagged.jpg', tagged)
    const stats = await run({ type: 'image.stats', input: 'tagged.jpg' })
    assert.equal(stats.state, 'succeeded', JSON.stringify(stats.error))
    assert.equal(stats.result?.width, 600)
    assert.deepEqual(stats.result?.exif, { camera: 'Acme Shooter 9', gps: false, orientation: 1 })
    assert.match(String(stats.result?.dominant), /^#[0-9a-f]{6}$/)
  })
})
