/**
 * `npm run bench -- jobs`: wall time from `POST /v1/jobs` to `succeeded` for compressing a file
 * already stored in `piper up` (1 GiB of English-like text by default), next to `pigz -H -p
 * <cores>` (Huffman-only, the same kind of coding) and `piper compress` without the queue, on
 * the same file in the same run; and the resident memory of `piper up` while the job runs, at
 * two file sizes, to show that it does not grow with the file. Targets: 1.2× pigz -H, and 1.4×
 * `pigz -d` for the decompress job.
 * Then a decompress job of the compress job's output, next to `pigz -d` of the same bytes.
 * pigz writes its output into a new file, as users run it (and as the jobs store theirs). The
 * tools alternate for BENCH_ROUNDS rounds (3); medians, and every round's walls on stderr.
 *
 * Each round starts a new `piper up` and runs two compress jobs in it: the first after start
 * (of other bytes of the same size and kind: a job over the same bytes twice would find its
 * output stored already), then the one timed against pigz, on the same bytes, as a server that
 * has been running does it. Both are printed: the first pays the process's warm-up (codec
 * threads compiling, memory mapped for the first time, ~0.3-0.5 s here).
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSse } from '../src/cli/sse-reader.ts'
import { YOUNG_GENERATION } from '../test/helpers/cli.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { generatedText } from './lib/inputs.ts'
import { mbPerSecond, median, printTable } from './lib/measure.ts'
import { rssMiB, timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_JOB_SIZE ?? 1 << 30)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CORES = availableParallelism()
const PIECE = 64 << 20
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-jobs-'))

/** Text in 64 MiB pieces of different seeds, so no two chunks are the same (no dedup). */
async function writeInput(path: string, size: number, firstSeed = 1): Promise<void> {
  const out = createWriteStream(path)
  for (let at = 0, seed = firstSeed; at < size; at += PIECE, seed++) {
    const piece = generatedText(Math.min(PIECE, size - at), seed)
    if (!out.write(piece)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error) => (error ? reject(error) : resolve())),
  )
}

/** Times one job from `POST /v1/jobs` to its last state event; fails unless it succeeded. */
async function runJob(
  base: string,
  request: Record<string, string>,
): Promise<{ ms: number; result: Record<string, unknown> }> {
  const start = performance.now()
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  })
  const job = (await res.json()) as { id: string }
  let state = ''
  const events = await fetch(`${base}/v1/jobs/${job.id}/events`)
  for await (const event of readSse(events.body!)) {
    if (event.event === 'state') state = JSON.parse(event.data).state
  }
  const ms = performance.now() - start
  if (state !== 'succeeded') throw new Error(`the ${request.type} job ended ${state}`)
  const done = (await (await fetch(`${base}/v1/jobs/${job.id}`)).json()) as {
    result: Record<string, unknown>
  }
  return { ms, result: done.result }
}

/**
 * Uploads `other` and `file`, times a compress job of `other` (the first after start) and one
 * of `file` (sampling `piper up`'s RSS while it runs), then one decompress job of its output.
 */
async function piperJob(
  file: string,
  other: string,
): Promise<{ firstMs: number; ms: number; decompressMs: number; peakMiB: number; ratio: number }> {
  const piper = await startPiper(['--workers', String(CORES)])
  try {
    for (const [path, name] of [
      [other, 'other.txt'],
      [file, 'in.txt'],
    ]) {
      timed('curl', [
        '-sSf',
        '-m',
        '900',
        '-o',
        '/dev/null',
        '-T',
        path!,
        `${piper.url}/v1/files/${name}`,
      ])
    }
    const pid = piper.child.pid!
    // The upload's chunks are written back before the job is timed, as for pigz's runs.
    spawnSync('sync')
    const first = await runJob(piper.url, { type: 'compress', input: 'other.txt' })
    spawnSync('sync')
    let peakMiB = await rssMiB(pid)
    const sampler = setInterval(async () => {
      peakMiB = Math.max(peakMiB, await rssMiB(pid).catch(() => 0))
    }, 50)
    const compressed = await runJob(piper.url, { type: 'compress', input: 'in.txt' })
    clearInterval(sampler)
    spawnSync('sync')
    // Then its output back: the same bytes `pigz -d` is timed on.
    const decompressed = await runJob(piper.url, {
      type: 'decompress',
      input: 'in.txt.gz',
      output: 'out.txt',
    })
    return {
      firstMs: first.ms,
      ms: compressed.ms,
      decompressMs: decompressed.ms,
      peakMiB,
      ratio: compressed.result.ratio as number,
    }
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
}

try {
  const sizes = [SIZE / 4, SIZE]
  const rows: (string | number)[][] = [
    ['compress', 'MiB', 'seconds', 'MB/s', 'vs pigz -H', 'RSS MiB'],
  ]
  const decompressRows: (string | number)[][] = [
    ['decompress', 'MiB', 'seconds', 'MB/s (of output)', 'vs pigz -d'],
  ]
  const hasPigz = spawnSync('pigz', ['--version']).status === 0
  for (const size of sizes) {
    const file = join(dir, `in-${size}.txt`)
    const other = join(dir, `other-${size}.txt`)
    await writeInput(file, size)
    await writeInput(other, size, 1000)
    const mib = size / 2 ** 20
    const gz = `${file}.gz`
    const runs = { pigz: [] as number[], cli: [] as number[], pigzD: [] as number[] }
    const jobs: Awaited<ReturnType<typeof piperJob>>[] = []
    if (hasPigz) timed('pigz', ['-H', '-p', String(CORES), '-c', file]) // warm the page cache
    // The tools in turn, round after round; each writes a new file, as users run them (and as
    // the jobs store theirs), with nothing of the run before left to write back.
    for (let round = 0; round < ROUNDS; round++) {
      if (hasPigz) {
        spawnSync('sync')
        runs.pigz.push(timed('sh', ['-c', `pigz -H -p ${CORES} -c ${file} > ${file}.pigz.gz`]))
        await rm(`${file}.pigz.gz`)
      }
      // As users run it: `bin/piper.js`, with the V8 flag its shebang passes.
      await rm(gz, { force: true })
      spawnSync('sync')
      runs.cli.push(
        timed(process.execPath, [
          YOUNG_GENERATION,
          'bin/piper.js',
          'compress',
          file,
          '-o',
          gz,
          '--force',
          '--threads',
          String(CORES),
          '--chunk-size',
          '4M',
        ]),
      )
      jobs.push(await piperJob(file, other))
      if (hasPigz) {
        spawnSync('sync')
        runs.pigzD.push(timed('sh', ['-c', `pigz -d -c ${gz} > ${file}.out`]))
        await rm(`${file}.out`)
      }
    }
    const pigzMs = hasPigz ? median(runs.pigz) : Number.NaN
    const cliMs = median(runs.cli)
    const jobMs = median(jobs.map((j) => j.ms))
    const firstMs = median(jobs.map((j) => j.firstMs))
    const decompressMs = median(jobs.map((j) => j.decompressMs))
    const pigzDecompressMs = hasPigz ? median(runs.pigzD) : Number.NaN
    const peakMiB = Math.max(...jobs.map((j) => j.peakMiB))
    if (hasPigz) {
      rows.push([`pigz -H -p ${CORES}`, mib, pigzMs / 1000, mbPerSecond(size, pigzMs), 1, ''])
    }
    rows.push(
      [
        'piper compress (no queue)',
        mib,
        cliMs / 1000,
        mbPerSecond(size, cliMs),
        pigzMs / cliMs,
        '',
      ],
      [
        'piper job, the first after start (other bytes)',
        mib,
        firstMs / 1000,
        mbPerSecond(size, firstMs),
        pigzMs / firstMs,
        '',
      ],
      [
        `piper job (POST → succeeded), ratio ${jobs[0]!.ratio}`,
        mib,
        jobMs / 1000,
        mbPerSecond(size, jobMs),
        pigzMs / jobMs,
        peakMiB,
      ],
    )
    if (hasPigz) {
      decompressRows.push([
        'pigz -d (of the same bytes)',
        mib,
        pigzDecompressMs / 1000,
        mbPerSecond(size, pigzDecompressMs),
        1,
      ])
    }
    decompressRows.push([
      'piper job (POST → succeeded)',
      mib,
      decompressMs / 1000,
      mbPerSecond(size, decompressMs),
      pigzDecompressMs / decompressMs,
    ])
    console.error(
      `${mib} MiB, walls by round (s): pigz -H ${runs.pigz.map((ms) => (ms / 1000).toFixed(2)).join(' ')}; first job ${jobs.map((j) => (j.firstMs / 1000).toFixed(2)).join(' ')}; job ${jobs.map((j) => (j.ms / 1000).toFixed(2)).join(' ')}; pigz -d ${runs.pigzD.map((ms) => (ms / 1000).toFixed(2)).join(' ')}; decompress job ${jobs.map((j) => (j.decompressMs / 1000).toFixed(2)).join(' ')}`,
    )
    await rm(file)
    await rm(other)
    await rm(gz)
  }
  printTable(rows)
  printTable(decompressRows)
  if (!hasPigz) console.log('pigz is not installed (apt-get install pigz): no peer in this run')
  console.log(
    `targets (issue 24): the compress job ≥ 1.2× pigz -H, the decompress job ≥ 1.4× pigz -d, at ${CORES} cores; RSS flat in file size`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
