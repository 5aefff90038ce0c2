import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { type ApiJob, download, finished, putFile } from '../helpers/jobs-api.ts'
import { runFinished, startRun } from '../helpers/pipelines-api.ts'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'

const IMAGES = join(import.meta.dirname, '../fixtures/images')
const FACES = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
)

interface Box {
  x: number
  y: number
  width: number
  height: number
}

async function rgb(bytes: Buffer) {
  const { data, info } = await sharp(bytes, { autoOrient: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height }
}

describe('images through piper up', () => {
  let piper: RunningPiper
  before(async () => {
    piper = await startPiper(['--image-analyze-uploads', '*'])
  })
  after(async () => {
    assert.equal(await piper.stop(), 0, piper.output())
  })

  it('runs the shipped image-tagging pipeline: every face found is blurred, a band around it is not touched', async () => {
    const applied = await runPiper(['pipelines', 'apply', '--template', 'image-tagging'], {
      env: cleanEnv({ PIPER_URL: piper.url }),
    })
    assert.equal(applied.code, 0, applied.stderr)
    assert.equal(JSON.parse(applied.stdout).name, 'image-tagging')

    const names: string[] = []
    for (let i = 1; i <= 6; i++) {
      await putFile(piper.url, `party/p${i}.jpg`, await readFile(join(FACES, `sample${i}.jpg`)))
      names.push(`party/p${i}.jpg`)
    }
    const started = await startRun(piper.url, { pipeline: 'image-tagging', inputs: names })
    const run = await runFinished(piper.url, started.id)
    assert.equal(run.state, 'succeeded', JSON.stringify(run.error))
    assert.deepEqual(
      Object.fromEntries(Object.entries(run.steps).map(([n, s]) => [n, [s.state, s.done]])),
      {
        detect: ['succeeded', 6],
        redact: ['succeeded', 6],
        bundle: ['succeeded', 1],
        variants: ['succeeded', 6],
        stats: ['succeeded', 6],
      },
    )
    const counts = (run.result as unknown as { counts: Record<string, Record<string, number>> })
      .counts
    let faces = 0
    for (let i = 1; i <= 6; i++) {
      const doc = JSON.parse(
        (await download(piper.url, `party/p${i}.jpg.detections.json`)).toString(),
      )
      // The template blurs faces only; people are found too, and counted.
      doc.detections = doc.detections.filter((d: { label: string }) => d.label === 'face')
      assert.ok(doc.detections.length >= 1, `p${i}: no face found`)
      faces += doc.detections.length
      const original = await readFile(join(FACES, `sample${i}.jpg`))
      // The same pixels re-encoded as the pipeline does (JPEG, quality 80): JPEG codes 8 × 8
      // blocks on their own, so away from the boxes the two files decode to the same pixels.
      const reference = await rgb(await sharp(original, { autoOrient: true }).jpeg().toBuffer())
      const redacted = await rgb(await download(piper.url, `party/p${i}.redacted.jpg`))
      assert.deepEqual([redacted.width, redacted.height], [reference.width, reference.height])
      const padded: Box[] = doc.detections.map((d: { box: Box }) => {
        const dx = Math.round(d.box.width * 0.1)
        const dy = Math.round(d.box.height * 0.1)
        return {
          x: d.box.x - dx,
          y: d.box.y - dy,
          width: d.box.width + 2 * dx,
          height: d.box.height + 2 * dy,
        }
      })
      const near = (x: number, y: number, margin: number) =>
        padded.some(
          (b) =>
            x >= b.x - margin &&
            x < b.x + b.width + margin &&
            y >= b.y - margin &&
            y < b.y + b.height + margin,
        )
      const diff = (x: number, y: number) => {
        const at = (y * reference.width + x) * 3
        return (
          Math.abs(reference.data[at]! - redacted.data[at]!) +
          Math.abs(reference.data[at + 1]! - redacted.data[at + 1]!) +
          Math.abs(reference.data[at + 2]! - redacted.data[at + 2]!)
        )
      }
      let bandPixels = 0 // faces side by side may leave one of them no band of its own
      for (const [k, d] of doc.detections.entries()) {
        const box = d.box as Box
        // Blurred: the detail inside (mean step between neighbouring pixels) is mostly gone.
        const detail = (img: typeof reference) => {
          let sum = 0
          let n = 0
          for (let y = box.y; y < box.y + box.height; y++) {
            for (let x = box.x; x + 1 < box.x + box.width; x++) {
              const at = (y * img.width + x) * 3
              for (let c = 0; c < 3; c++) sum += Math.abs(img.data[at + c]! - img.data[at + 3 + c]!)
              n++
            }
          }
          return sum / n
        }
        const before = detail(reference)
        const after = detail(redacted)
        assert.ok(after < 0.5 * before, `p${i} face ${k}: detail ${before} before, ${after} after`)
        // A band 32–64 px outside the padded box (and as far from every other box): untouched.
        let changed = 0
        let band = 0
        const b = padded[k]!
        for (
          let y = Math.max(0, b.y - 64);
          y < Math.min(reference.height, b.y + b.height + 64);
          y++
        ) {
          for (
            let x = Math.max(0, b.x - 64);
            x < Math.min(reference.width, b.x + b.width + 64);
            x++
          ) {
            if (near(x, y, 32)) continue
            band++
            if (diff(x, y) > 0) changed++
          }
        }
        bandPixels += band
        assert.equal(changed, 0, `p${i} face ${k}: ${changed} of ${band} pixels around it changed`)
      }
      assert.ok(bandPixels > 10_000, `p${i}: only ${bandPixels} pixels around its faces`)
    }
    assert.equal(counts.detect!.face, faces)
    assert.ok(counts.detect!.person! >= 6, `people: ${JSON.stringify(counts)}`)
    const variants = (run.outputs as Record<string, string[]>).variants!
    assert.equal(variants.length, 18)
    const thumb = await sharp(
      await download(piper.url, 'party/p1.redacted.jpg.variants/thumb.webp'),
    ).metadata()
    assert.deepEqual([thumb.format, Math.max(thumb.width!, thumb.height!)], ['webp', 160])
    assert.deepEqual(run.outputs.bundle, [`tagged/${run.id}.tar`])
  })

  it('serves a variant made on first request, then from storage; refuses other parameters', async () => {
    await putFile(piper.url, 'v/rocket.jpg', await readFile(join(IMAGES, 'rocket.jpg')))
    const [first, second] = await Promise.all(
      [0, 1].map(() => fetch(`${piper.url}/v1/files/v/rocket.jpg?w=120&format=webp`)),
    )
    assert.equal(first!.status, 200)
    assert.equal(first!.headers.get('content-type'), 'image/webp')
    const bytes = Buffer.from(await first!.arrayBuffer())
    assert.deepEqual(Buffer.from(await second!.arrayBuffer()), bytes)
    const meta = await sharp(bytes).metadata()
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 120, 80])
    const etag = first!.headers.get('etag')!
    const again = await fetch(`${piper.url}/v1/files/v/rocket.jpg?w=120&format=webp`, {
      headers: { 'if-none-match': etag },
    })
    assert.equal(again.status, 304)
    const stored = await fetch(`${piper.url}/v1/files?prefix=v/rocket.jpg.variants/`)
    const listed = (await stored.json()) as { files: { name: string }[] }
    assert.deepEqual(
      listed.files.map((f) => f.name),
      ['v/rocket.jpg.variants/w120-inside.webp'],
    )

    const bad = await fetch(`${piper.url}/v1/files/v/rocket.jpg?w=120&crop=1`)
    assert.equal(bad.status, 400)
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'E_IMAGE_VARIANT')
    const huge = await fetch(`${piper.url}/v1/files/v/rocket.jpg?w=99999`)
    assert.equal(huge.status, 400)
    await putFile(piper.url, 'v/not.jpg', Buffer.from('not an image'))
    const notImage = await fetch(`${piper.url}/v1/files/v/not.jpg?w=10`)
    assert.equal(notImage.status, 415)
  })

  it('analyses image uploads, finds near duplicates with the index, and counts them in the statistics', async () => {
    const astronaut = await readFile(join(IMAGES, 'astronaut.jpg'))
    const copy = await sharp(astronaut).resize(256).jpeg({ quality: 60 }).toBuffer()
    await putFile(piper.url, 'd/astronaut.jpg', astronaut)
    await putFile(piper.url, 'd/astronaut-small.jpg', copy)
    await putFile(piper.url, 'd/astronaut-again.jpg', astronaut)
    await putFile(piper.url, 'd/coffee.png', await readFile(join(IMAGES, 'coffee.png')))
    await putFile(piper.url, 'd/notes.txt', Buffer.from('not an image'))
    const listed = (await (await fetch(`${piper.url}/v1/jobs?limit=1000`)).json()) as {
      jobs: ApiJob[]
    }
    const analyses = listed.jobs.filter(
      (j) => j.type === 'image.analyze' && j.input.startsWith('d/'),
    )
    assert.deepEqual(analyses.map((j) => j.input).sort(), [
      'd/astronaut-again.jpg',
      'd/astronaut-small.jpg',
      'd/astronaut.jpg',
      'd/coffee.png',
    ])
    for (const job of analyses) assert.equal((await finished(piper.url, job.id)).state, 'succeeded')

    const res = await fetch(`${piper.url}/v1/files/d/astronaut.jpg/duplicates?distance=8`)
    assert.equal(res.status, 200, await res.clone().text())
    const dupes = (await res.json()) as {
      exact: string[]
      near: { name: string; distance: number }[]
    }
    assert.deepEqual(dupes.exact, ['d/astronaut-again.jpg'])
    assert.deepEqual(dupes.near.map((n) => n.name).sort(), [
      'd/astronaut-again.jpg',
      'd/astronaut-small.jpg',
    ])
    const none = await fetch(`${piper.url}/v1/files/d/notes.txt/duplicates`)
    assert.equal(none.status, 409)

    const clusters = (await (await fetch(`${piper.url}/v1/duplicates?distance=8`)).json()) as {
      clusters: { files: { name: string }[] }[]
    }
    const astronauts = clusters.clusters.find((c) =>
      c.files.some((f) => f.name === 'd/astronaut.jpg'),
    )
    assert.deepEqual(astronauts?.files.map((f) => f.name).sort(), [
      'd/astronaut-again.jpg',
      'd/astronaut-small.jpg',
      'd/astronaut.jpg',
    ])

    const stats = (await (await fetch(`${piper.url}/v1/stats/images?bucket=hour`)).json()) as {
      totals: { images: number; bytes_saved_by_dedup: number; variants: number }
    }
    assert.ok(stats.totals.images >= 4, JSON.stringify(stats))
    assert.equal(stats.totals.bytes_saved_by_dedup, astronaut.length)
    assert.ok(stats.totals.variants >= 18, 'the pipeline test made variants')
  })
})
