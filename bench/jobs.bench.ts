/**
 * `npm run bench -- jobs`: wall time from `POST /v1/jobs` to `succeeded` for compressing a file
 * already stored in `piper up` (1 GiB of English-like text by default), next to `pigz -H -p
 * <cores>` (Huffman-only, the same kind of coding) and `piper compress` without the queue, on
 * the same file in the same run; and the resident memory of `piper up` while the job runs, at
 * two file sizes, to show that it does not grow with the file. Target: within 1.25× of pigz -H.
 * Then a decompress job of the compress job's output, next to `pigz -d` of the same bytes.
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSse } from '../src/cli/sse-reader.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { generatedText } from './lib/inputs.ts'
import { mbPerSecond, printTable } from './lib/measure.ts'
import { rssMiB, timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_JOB_SIZE ?? 1 << 30)
const CORES = availableParallelism()
const PIECE = 64 << 20
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-jobs-'))

/** Text in 64 MiB pieces of different seeds, so no two chunks are the same (no dedup). */
async function writeInput(path: string, size: number): Promise<void> {
  const out = createWriteStream(path)
  for (let at = 0, seed = 1; at < size; at += PIECE, seed++) {
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
 * Uploads `file`, then times one compress job (sampling `piper up`'s RSS while it runs) and
 * one decompress job of its output.
 */
async function piperJob(
  file: string,
): Promise<{ ms: number; decompressMs: number; peakMiB: number; ratio: number }> {
  const piper = await startPiper(['--workers', String(CORES)])
  try {
    timed('curl', [
      '-sSf',
      '-m',
      '900',
      '-o',
      '/dev/null',
      '-T',
      file,
      `${piper.url}/v1/files/in.txt`,
    ])
    const pid = piper.child.pid!
    let peakMiB = await rssMiB(pid)
    const sampler = setInterval(async () => {
      peakMiB = Math.max(peakMiB, await rssMiB(pid).catch(() => 0))
    }, 50)
    const compressed = await runJob(piper.url, { type: 'compress', input: 'in.txt' })
    clearInterval(sampler)
    // Then its output back: the same bytes `pigz -d` is timed on.
    const decompressed = await runJob(piper.url, {
      type: 'decompress',
      input: 'in.txt.gz',
      output: 'out.txt',
    })
    return {
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
    await writeInput(file, size)
    const mib = size / 2 ** 20
    const gz = `${file}.gz`
    let pigzMs = Number.NaN
    if (hasPigz) {
      timed('pigz', ['-H', '-p', String(CORES), '-c', file]) // warm the page cache
      pigzMs = timed('sh', ['-c', `pigz -H -p ${CORES} -c ${file} > /dev/null`])
      rows.push([`pigz -H -p ${CORES}`, mib, pigzMs / 1000, mbPerSecond(size, pigzMs), 1, ''])
    }
    // As users run it: `bin/piper.js`, with the V8 flag its shebang passes.
    const cliMs = timed(process.execPath, [
      '--max-semi-space-size=1',
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
    ])
    rows.push([
      'piper compress (no queue)',
      mib,
      cliMs / 1000,
      mbPerSecond(size, cliMs),
      pigzMs / cliMs,
      '',
    ])
    const job = await piperJob(file)
    rows.push([
      `piper job (POST → succeeded), ratio ${job.ratio}`,
      mib,
      job.ms / 1000,
      mbPerSecond(size, job.ms),
      pigzMs / job.ms,
      job.peakMiB,
    ])
    let pigzDecompressMs = Number.NaN
    if (hasPigz) {
      pigzDecompressMs = timed('sh', ['-c', `pigz -d -c ${gz} > /dev/null`])
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
      job.decompressMs / 1000,
      mbPerSecond(size, job.decompressMs),
      pigzDecompressMs / job.decompressMs,
    ])
    await rm(file)
    await rm(gz)
  }
  printTable(rows)
  printTable(decompressRows)
  if (!hasPigz) console.log('pigz is not installed (apt-get install pigz): no peer in this run')
  console.log(
    `target: the job within 1.25× of pigz -H (vs pigz ≥ 0.80) at ${CORES} cores; RSS flat in file size`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
