/**
 * `npm run bench -- tus`: a 512 MiB file uploaded to one `piper up` three ways, as users do:
 * `curl -T` (a PUT), tus-js-client in a Node process of its own (one PATCH, the whole file),
 * and tus-js-client in 16 MiB PATCHes (how browsers and flaky networks send it); alternating
 * runs, medians, each against the PUT. Whole processes, file to file. The client's floor in the
 * same run: tus-js-client against a tus server that discards what it gets.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPiper } from '../test/helpers/piper-server.ts'
import { mbPerSecond, median, printTable } from './lib/measure.ts'
import { timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_FILE_SIZE ?? 512 << 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-tus-'))
const file = join(dir, 'input.bin')
spawnSync('sh', ['-c', `head -c ${SIZE} /dev/urandom > ${file}`], { stdio: 'inherit' })

// The client as a user runs it: its own process, reading the file as a stream.
const client = join(dir, 'tus-client.mjs')
const tusEntry = fileURLToPath(import.meta.resolve('tus-js-client'))
spawnSync('sh', [
  '-c',
  `cat > ${client} <<'JS'
import { createReadStream, statSync } from 'node:fs'
const { Upload } = await import(${JSON.stringify(tusEntry)})
const [endpoint, path, chunk] = process.argv.slice(2)
await new Promise((resolve, reject) => {
  const upload = new Upload(createReadStream(path), {
    endpoint,
    uploadSize: statSync(path).size,
    chunkSize: chunk === 'all' ? statSync(path).size : Number(chunk),
    metadata: { filename: 'bench/tus.bin' },
    onError: reject,
    onSuccess: resolve,
  })
  upload.start()
})
JS`,
])

// The floor of the client: a tus server in a process of its own that takes every PATCH and
// discards its bytes (no storage, no hashing), as the files bench's minimal server does for PUT.
const sinkScript = `
  const http = require('node:http'); let offset = 0
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') { offset = 0; res.writeHead(201, { location: '/sink/1', 'tus-resumable': '1.0.0' }).end(); return }
    let got = 0; req.on('data', (d) => { got += d.length })
    req.on('end', () => { offset += got; res.writeHead(204, { 'upload-offset': String(offset), 'tus-resumable': '1.0.0' }).end() })
  })
  server.listen(0, '127.0.0.1', () => console.log(server.address().port))`
const sink = spawn(process.execPath, ['-e', sinkScript], { stdio: ['ignore', 'pipe', 'inherit'] })
const sinkPort = await new Promise<string>((resolve) =>
  sink.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
)
const sinkUrl = `http://127.0.0.1:${sinkPort}/sink/`

const piper = await startPiper()
const ways: Record<string, () => number> = {
  'curl -T (PUT)': () =>
    timed('curl', ['-sSf', '-o', '/dev/null', '-T', file, `${piper.url}/v1/files/bench/put.bin`]),
  'tus-js-client, one PATCH': () =>
    timed(process.execPath, [client, `${piper.url}/v1/tus/`, file, 'all']),
  'tus-js-client, 16 MiB PATCHes': () =>
    timed(process.execPath, [client, `${piper.url}/v1/tus/`, file, String(16 << 20)]),
  'floor: tus-js-client → sink, one PATCH': () =>
    timed(process.execPath, [client, sinkUrl, file, 'all']),
  'floor: tus-js-client → sink, 16 MiB': () =>
    timed(process.execPath, [client, sinkUrl, file, String(16 << 20)]),
}
const times: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]))
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(ways)) times[name]!.push(run())
  }
} finally {
  sink.kill()
  await piper.stop()
  await rm(dir, { recursive: true, force: true })
}
const put = median(times['curl -T (PUT)']!)
printTable([
  [`${SIZE >> 20} MiB, median of ${ROUNDS}`, 'wall s', 'MB/s', 'speed ÷ PUT'],
  ...Object.entries(times).map(([name, ms]) => {
    const m = median(ms)
    return [name, (m / 1000).toFixed(2), mbPerSecond(SIZE, m).toFixed(0), (put / m).toFixed(2)]
  }),
])
