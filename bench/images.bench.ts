/**
 * `npm run bench -- images`, four measurements, each printed with its peers and ratios:
 *
 * 1. Thumbnails: BENCH_PHOTOS (200) JPEG photos of 3–5 MP, derived from ../shared/images and
 *    face-api's demo photos (crops, scales, re-encodes), each made into three webp sizes (160,
 *    480, 1280, fitted inside): through a Piper pipeline (`piper up`, a process of its own; the
 *    photos uploaded beforehand, one run of `image.variants` over all of them, timed from the
 *    POST to the run's end) against a plain script calling sharp directly (a process of its own,
 *    files in and out, the same concurrency), alternating, BENCH_ROUNDS (3) rounds, medians.
 *    ImageMagick (`convert -thumbnail`) and `vipsthumbnail` run once on a subset, for scale.
 * 2. Detection: faces per second through `image.detect` (one detector thread, model loaded
 *    before timing) against face-api called directly in a script (same backend and model).
 * 3. Near-duplicate lookup among 1 000 000 stored pHashes (SQLite, in this process; labelled as
 *    the index's own figure): the band index against a linear scan of the same table, radius 6,
 *    identical answers checked.
 * 4. Peak memory (VmHWM) of a fresh `piper up` making variants of a 50 MP photo, and running four
 *    detections at once.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { readSse } from '../src/cli/sse-reader.ts'
import { hammingDistance } from '../src/images/index.ts'
import { SqliteDriver, SqlMetaStore } from '../src/meta/index.ts'
import { type RunningPiper, startPiper } from '../test/helpers/piper-server.ts'
import { median, printTable } from './lib/measure.ts'
import { peakRssMiB } from './lib/process.ts'

const PHOTOS = Number(process.env.BENCH_PHOTOS ?? 200)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const HASHES = Number(process.env.BENCH_HASHES ?? 1_000_000)
const SECTIONS = (process.env.BENCH_IMAGES ?? 'thumbs,detect,lookup,memory').split(',')
const IMAGES = fileURLToPath(new URL('../../shared/images/', import.meta.url))
const FACES = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
)
const JSON_HEADERS = { 'content-type': 'application/json' }
/** Tasks of one kind a `piper up` runs at once on this machine (4 per codec thread). */
const CONCURRENCY = 4 * cpus().length

/** Photos of 3–5 MP derived from the shared images: scaled, cropped, re-encoded as JPEG. */
async function derivePhotos(dir: string, count: number): Promise<string[]> {
  const sources = [
    ...(await readdir(IMAGES)).filter((n) => /\.(png|jpg)$/.test(n)).map((n) => join(IMAGES, n)),
    ...Array.from({ length: 6 }, (_, i) => join(FACES, `sample${i + 1}.jpg`)),
  ]
  const files: string[] = []
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length]!
    const long = 2200 + ((i * 137) % 600) // 2200–2800 px on the long side
    const meta = await sharp(source).metadata()
    const scale = long / Math.max(meta.width!, meta.height!)
    const width = Math.round(meta.width! * scale)
    const height = Math.round(meta.height! * scale)
    const crop = 0.9 + ((i * 7) % 10) / 100
    const bytes = await sharp(source)
      .resize({ width, height, fit: 'fill' })
      .extract({
        left: Math.floor((width * (1 - crop)) / 2),
        top: Math.floor((height * (1 - crop)) / 2),
        width: Math.floor(width * crop),
        height: Math.floor(height * crop),
      })
      .toColourspace('srgb')
      .jpeg({ quality: 85 + (i % 10) })
      .toBuffer()
    const file = join(dir, `p${String(i).padStart(3, '0')}.jpg`)
    await writeFile(file, bytes)
    files.push(file)
  }
  return files
}

async function upload(piper: RunningPiper, name: string, file: string): Promise<void> {
  const res = await fetch(`${piper.url}/v1/files/${name}`, {
    method: 'PUT',
    body: await readFile(file),
  })
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`)
}

/** Stores a one-step pipeline, runs it over `inputs`, and returns the run's wall time in ms. */
async function timedRun(piper: RunningPiper, pipeline: string, inputs: string[]): Promise<number> {
  const began = performance.now()
  const res = await fetch(`${piper.url}/v1/runs`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ pipeline, inputs }),
  })
  if (res.status !== 202) throw new Error(`run: ${res.status} ${await res.text()}`)
  const { id } = (await res.json()) as { id: string }
  const events = await fetch(`${piper.url}/v1/runs/${id}/events`)
  let state = ''
  for await (const event of readSse(events.body!)) {
    if (event.event === 'state') state = (JSON.parse(event.data) as { state: string }).state
  }
  const ms = performance.now() - began
  if (state !== 'succeeded') {
    const run = await (await fetch(`${piper.url}/v1/runs/${id}`)).json()
    throw new Error(`run ${id} ${state}: ${JSON.stringify(run).slice(0, 500)}`)
  }
  return ms
}

async function savePipeline(piper: RunningPiper, name: string, steps: object): Promise<void> {
  const res = await fetch(`${piper.url}/v1/pipelines`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ name, steps }),
  })
  if (res.status !== 201) throw new Error(`pipeline: ${res.status} ${await res.text()}`)
}

function processMs(command: string, args: string[]): { ms: number; stdout: string } {
  const began = performance.now()
  const run = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`${command} exited with ${run.status}`)
  return { ms: performance.now() - began, stdout: run.stdout }
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

async function thumbnails(work: string): Promise<void> {
  console.log(`\n## thumbnails: ${PHOTOS} photos → 3 webp sizes (160, 480, 1280)`)
  const photos = await derivePhotos(join(work, 'photos'), PHOTOS)
  let bytes = 0
  let pixels = 0
  for (const file of photos) {
    const meta = await sharp(file).metadata()
    pixels += meta.width! * meta.height!
    bytes += (await readFile(file)).length
  }
  console.log(
    `inputs: ${(bytes / 1e6).toFixed(0)} MB, ${(pixels / photos.length / 1e6).toFixed(1)} MP per photo on average`,
  )
  const piper = await startPiper([])
  const names = photos.map((_, i) => `photos/p${String(i).padStart(3, '0')}.jpg`)
  const piperMs: number[] = []
  const sharpMs: number[] = []
  try {
    for (const [i, file] of photos.entries()) await upload(piper, names[i]!, file)
    await savePipeline(piper, 'thumbs', {
      v: { kind: 'image.variants', params: { format: 'webp' } },
    })
    const out = join(work, 'sharp-out')
    await mkdir(out, { recursive: true })
    const script = fileURLToPath(new URL('./lib/sharp-thumbs.ts', import.meta.url))
    for (let round = 0; round < ROUNDS; round++) {
      piperMs.push(await timedRun(piper, 'thumbs', names))
      sharpMs.push(processMs(process.execPath, [script, out, String(CONCURRENCY), ...photos]).ms)
      console.log(
        `round ${round + 1}: piper ${piperMs.at(-1)!.toFixed(0)} ms, sharp ${sharpMs.at(-1)!.toFixed(0)} ms`,
      )
    }
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
  const perSecond = (ms: number, n = photos.length) => n / (ms / 1000)
  const rows: (string | number)[][] = [
    ['tool', 'photos', 'median ms', 'photos/s', 'vs sharp direct'],
  ]
  const sharpRate = perSecond(median(sharpMs))
  rows.push([
    'piper pipeline (image.variants)',
    photos.length,
    median(piperMs),
    perSecond(median(piperMs)),
    perSecond(median(piperMs)) / sharpRate,
  ])
  rows.push(['sharp direct (a script)', photos.length, median(sharpMs), sharpRate, 1])
  // For scale only: one pass over a subset, two processes at a time (one per core).
  const subset = photos.slice(0, Math.min(20, photos.length))
  const out = join(work, 'cli-out')
  await mkdir(out, { recursive: true })
  const inPairs = (run: (file: string) => [string, string[]]) => {
    const began = performance.now()
    for (let i = 0; i < subset.length; i += 2) {
      const pair = subset.slice(i, i + 2).map(run)
      const children = pair.map(([c, a]) =>
        spawnSync('sh', ['-c', `${c} ${a.map((x) => `'${x}'`).join(' ')}`], { stdio: 'ignore' }),
      )
      for (const child of children) if (child.status !== 0) throw new Error(`${pair[0]![0]} failed`)
    }
    return performance.now() - began
  }
  if (has('/usr/bin/convert')) {
    // Sequential pairs (spawnSync): each photo's three sizes in one convert process.
    const ms = inPairs((file) => [
      '/usr/bin/convert',
      [
        file,
        '-auto-orient',
        '(',
        '+clone',
        '-thumbnail',
        '1280x1280>',
        '-write',
        `${out}/im-l.webp`,
        '+delete',
        ')',
        '(',
        '+clone',
        '-thumbnail',
        '480x480>',
        '-write',
        `${out}/im-s.webp`,
        '+delete',
        ')',
        '-thumbnail',
        '160x160>',
        `${out}/im-t.webp`,
      ],
    ])
    rows.push([
      'ImageMagick convert -thumbnail (subset)',
      subset.length,
      ms,
      perSecond(ms, subset.length),
      perSecond(ms, subset.length) / sharpRate,
    ])
  } else rows.push(['ImageMagick: not installed (apt-get install imagemagick)', '', '', '', ''])
  if (has('vipsthumbnail')) {
    const ms = inPairs((file) => [
      'sh',
      [
        '-c',
        `vipsthumbnail "$0" -s 1280 -o ${out}/%s-l.webp && vipsthumbnail "$0" -s 480 -o ${out}/%s-s.webp && vipsthumbnail "$0" -s 160 -o ${out}/%s-t.webp`,
        file,
      ],
    ])
    rows.push([
      'vipsthumbnail ×3 (subset)',
      subset.length,
      ms,
      perSecond(ms, subset.length),
      perSecond(ms, subset.length) / sharpRate,
    ])
  } else rows.push(['vipsthumbnail: not installed (apt-get install libvips-tools)', '', '', '', ''])
  printTable(rows)
}

async function detection(): Promise<void> {
  console.log('\n## detection: faces per second, one detector thread, model loaded beforehand')
  const copies = 4
  const files = Array.from({ length: 6 * copies }, (_, i) =>
    join(FACES, `sample${(i % 6) + 1}.jpg`),
  )
  const piper = await startPiper(['--detect-threads', '1'])
  const piperMs: number[] = []
  const directMs: number[] = []
  let piperFaces = 0
  let directFaces = 0
  try {
    const names: string[] = []
    for (const [i, file] of files.entries()) {
      names.push(`faces/f${i}.jpg`)
      await upload(piper, names[i]!, file)
    }
    await savePipeline(piper, 'faces', {
      d: { kind: 'image.detect', params: { labels: ['face'] } },
    })
    await timedRun(piper, 'faces', names.slice(0, 1)) // loads the model
    const script = fileURLToPath(new URL('./lib/face-api-direct.ts', import.meta.url))
    for (let round = 0; round < ROUNDS; round++) {
      piperMs.push(await timedRun(piper, 'faces', names))
      const direct = JSON.parse(processMs(process.execPath, [script, ...files]).stdout) as {
        detectMs: number
        faces: number
      }
      directMs.push(direct.detectMs)
      directFaces = direct.faces
    }
    const jobs = (await (await fetch(`${piper.url}/v1/jobs?limit=1000`)).json()) as {
      jobs: { type: string; input: string; result: { counts?: { face?: number } } | null }[]
    }
    const latest = new Map<string, number>()
    for (const job of jobs.jobs)
      if (job.type === 'image.detect') latest.set(job.input, job.result?.counts?.face ?? 0)
    piperFaces = names.reduce((n, name) => n + (latest.get(name) ?? 0), 0)
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
  const rate = (faces: number, ms: number) => faces / (ms / 1000)
  const directRate = rate(directFaces, median(directMs))
  printTable([
    ['tool', 'images', 'faces found', 'median ms', 'faces/s', 'vs face-api direct'],
    [
      'piper image.detect (1 thread)',
      files.length,
      piperFaces,
      median(piperMs),
      rate(piperFaces, median(piperMs)),
      rate(piperFaces, median(piperMs)) / directRate,
    ],
    ['face-api direct (main thread)', files.length, directFaces, median(directMs), directRate, 1],
  ])
}

async function lookup(work: string): Promise<void> {
  console.log(
    `\n## near-duplicate lookup among ${HASHES} pHashes, radius 6 (SQLite, in-process: the index's own figure)`,
  )
  const meta = new SqlMetaStore(new SqliteDriver(join(work, 'lookup.db')))
  await meta.start()
  const driver = new SqliteDriver(join(work, 'lookup.db'))
  await driver.open()
  const random = randomBytes(HASHES * 8)
  const hashes: string[] = []
  for (let i = 0; i < HASHES; i++) hashes.push(random.subarray(i * 8, i * 8 + 8).toString('hex'))
  // 100 queries, each with 5 planted neighbours 1–6 bits away.
  const queries = hashes.slice(0, 100)
  let planted = 100
  for (const q of queries) {
    for (let k = 0; k < 5; k++) {
      let h = BigInt(`0x${q}`)
      for (let b = 0; b <= k; b++) h ^= 1n << BigInt((planted * 13 + b * 11) % 64)
      hashes[planted++] = h.toString(16).padStart(16, '0')
    }
  }
  const began = performance.now()
  await driver.run("INSERT INTO clients (id, created) VALUES ('bench', 0)")
  for (let at = 0; at < HASHES; at += 10_000) {
    await driver.transaction(
      async (tx) => {
        for (let i = at; i < Math.min(HASHES, at + 10_000); i++) {
          const id = `f${i}`
          await tx.run(
            `INSERT INTO files (id, client_id, name, size, sha256, content_type, chunk_count, created)
           VALUES ($1, 'bench', $1, 0, $1, 'image/jpeg', 0, 0)`,
            [id],
          )
          const h = hashes[i]!
          const bands = [0, 4, 8, 12].map((o) => parseInt(h.slice(o, o + 4), 16))
          await tx.run(
            `INSERT INTO images (file_id, client_id, format, width, height, bytes, phash, dhash, band0, band1, band2, band3, created)
           VALUES ($1, 'bench', 'jpeg', 1, 1, 0, $2, $2, $3, $4, $5, $6, 0)`,
            [id, h, ...bands],
          )
        }
      },
      { durable: false },
    )
  }
  console.log(`stored in ${((performance.now() - began) / 1000).toFixed(0)} s`)
  const indexMs: number[] = []
  const found: string[][] = []
  for (const q of queries) {
    const t = performance.now()
    const matches = await meta.nearImages('bench', q, 6)
    indexMs.push(performance.now() - t)
    found.push(matches.map((m) => m.name).sort())
  }
  const scanMs: number[] = []
  for (const [i, q] of queries.slice(0, 5).entries()) {
    const t = performance.now()
    const rows = await driver.all("SELECT file_id, phash FROM images WHERE client_id = 'bench'")
    const matches = rows
      .filter((r) => hammingDistance(q, String(r.phash)) <= 6)
      .map((r) => String(r.file_id))
    scanMs.push(performance.now() - t)
    if (matches.sort().join() !== found[i]!.join())
      throw new Error(`query ${i}: the index and the scan differ`)
  }
  // An in-memory scan over every hash already in this process: no store could be faster linearly.
  const memMs: number[] = []
  for (const q of queries.slice(0, 20)) {
    const t = performance.now()
    let n = 0
    for (const h of hashes) if (hammingDistance(q, h) <= 6) n++
    memMs.push(performance.now() - t)
    if (n < 1) throw new Error('in-memory scan lost a match')
  }
  await driver.close()
  await meta.close()
  const avg = found.reduce((n, f) => n + f.length, 0) / found.length
  printTable([
    ['lookup', 'queries', 'median ms', 'index speed-up'],
    ['band index (nearImages)', queries.length, median(indexMs), 1],
    ['linear scan of the table (SQL + JS)', 5, median(scanMs), median(scanMs) / median(indexMs)],
    ['linear scan in memory (JS array)', 20, median(memMs), median(memMs) / median(indexMs)],
  ])
  console.log(`matches per query: ${avg.toFixed(1)}; the scan's answers equal the index's`)
}

async function memory(work: string): Promise<void> {
  console.log('\n## peak memory (VmHWM) of a fresh piper up')
  const big = join(work, 'big.jpg')
  await sharp(join(FACES, 'sample1.jpg'))
    .resize({ width: 8660, height: 5774, fit: 'fill' })
    .jpeg({ quality: 90 })
    .toFile(big)
  const rows: (string | number)[][] = [['work', 'idle MiB', 'peak MiB', 'added MiB']]
  {
    const piper = await startPiper([])
    try {
      await upload(piper, 'big.jpg', big)
      await savePipeline(piper, 'v', { v: { kind: 'image.variants', params: { format: 'webp' } } })
      const idle = await peakRssMiB(piper.child.pid!)
      await timedRun(piper, 'v', ['big.jpg'])
      const peak = await peakRssMiB(piper.child.pid!)
      rows.push(['image.variants of a 50 MP JPEG (8660 × 5774)', idle, peak, peak - idle])
    } finally {
      await piper.stop()
      await rm(piper.data, { recursive: true, force: true })
    }
  }
  {
    const piper = await startPiper(['--detect-threads', '4'])
    try {
      const names = []
      for (let i = 1; i <= 4; i++) {
        names.push(`f${i}.jpg`)
        await upload(piper, `f${i}.jpg`, join(FACES, `sample${i}.jpg`))
      }
      await savePipeline(piper, 'd', { d: { kind: 'image.detect' } })
      const idle = await peakRssMiB(piper.child.pid!)
      await timedRun(piper, 'd', names)
      const peak = await peakRssMiB(piper.child.pid!)
      rows.push(['4 detections at once (4 detector threads)', idle, peak, peak - idle])
    } finally {
      await piper.stop()
      await rm(piper.data, { recursive: true, force: true })
    }
  }
  printTable(rows)
}

const work = await mkdtemp(join(tmpdir(), 'piper-bench-images-'))
try {
  await mkdir(join(work, 'photos'), { recursive: true })
  if (SECTIONS.includes('thumbs')) await thumbnails(work)
  if (SECTIONS.includes('detect')) await detection()
  if (SECTIONS.includes('lookup')) await lookup(work)
  if (SECTIONS.includes('memory')) await memory(work)
} finally {
  await rm(work, { recursive: true, force: true })
}
