/**
 * `npm run bench -- files`: upload and download of a 1 GiB file through `piper up`, next to
 * this machine's raw baselines measured in the same run — `cp`, and curl to a minimal Node
 * HTTP server that discards the upload or streams the file back — with the gateway's peak RSS.
 * Chunk sizes are swept to choose the default. Targets: upload ≥ 0.70 of the minimal server
 * (hashing, counting and dedup on), download ≥ 0.80, peak RSS < 200 MiB.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPiper } from '../test/helpers/piper-server.ts'
import { mbPerSecond, printTable } from './lib/measure.ts'
import { peakRssMiB, timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_FILE_SIZE ?? 1 << 30)
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-files-'))
const file = join(dir, 'input.bin')
spawnSync('sh', ['-c', `head -c ${SIZE} /dev/urandom > ${file}`], { stdio: 'inherit' })

function best(n: number, fn: () => number): number {
  return Math.min(...Array.from({ length: n }, fn))
}

const curlUp = (url: string) =>
  timed('curl', ['-sSf', '-m', '600', '-o', '/dev/null', '-T', file, url])
const curlDown = (url: string) => timed('curl', ['-sSf', '-m', '600', '-o', '/dev/null', url])

/** A minimal server in its own process: discards uploads, streams the file for downloads. */
async function minimalServer(): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const http = require('node:http'); const fs = require('node:fs')
    const server = http.createServer((req, res) => {
      if (req.method === 'PUT') { req.resume(); req.on('end', () => res.end('ok')); return }
      res.writeHead(200, { 'content-length': fs.statSync(process.argv[1]).size })
      fs.createReadStream(process.argv[1]).pipe(res)
    })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))`
  const child = spawn(process.execPath, ['-e', script, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  )
  return { url: `http://127.0.0.1:${port}/`, child }
}

try {
  const cpMs = best(2, () => timed('cp', [file, join(dir, 'copy.bin')]))
  const minimal = await minimalServer()
  const sinkMs = best(2, () => curlUp(minimal.url))
  const sourceMs = best(2, () => curlDown(minimal.url))
  minimal.child.kill()

  const rows: (string | number)[][] = [
    [`${SIZE / 2 ** 20} MiB file`, 'MB/s', 'vs minimal server', 'peak RSS MiB'],
    ['cp (page cache)', mbPerSecond(SIZE, cpMs), '', ''],
    ['minimal server: upload (discard)', mbPerSecond(SIZE, sinkMs), 1, ''],
    ['minimal server: download (file)', mbPerSecond(SIZE, sourceMs), 1, ''],
  ]
  for (const chunkSize of ['1M', '4M', '16M']) {
    const piper = await startPiper(['--chunk-size', chunkSize])
    try {
      const upMs = curlUp(`${piper.url}/v1/files/input.bin`)
      const upRss = await peakRssMiB(piper.child.pid!)
      const downMs = best(2, () => curlDown(`${piper.url}/v1/files/input.bin`))
      rows.push(
        [`piper PUT, ${chunkSize} chunks`, mbPerSecond(SIZE, upMs), sinkMs / upMs, upRss],
        [
          `piper GET, ${chunkSize} chunks`,
          mbPerSecond(SIZE, downMs),
          sourceMs / downMs,
          await peakRssMiB(piper.child.pid!),
        ],
      )
    } finally {
      await piper.stop()
      await rm(piper.data, { recursive: true, force: true })
    }
  }
  printTable(rows)
  console.log('targets: PUT ≥ 0.70 and GET ≥ 0.80 of the minimal server; peak RSS < 200 MiB')
} finally {
  await rm(dir, { recursive: true, force: true })
}
