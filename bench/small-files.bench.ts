/**
 * `npm run bench -- small-files`: many small files through `piper up`, as an image or pipeline
 * workload sends them — BENCH_SMALL_FILES (3 000) PUTs of BENCH_SMALL_BYTES (4 KiB), then a GET
 * of each, from BENCH_CLIENTS (16) concurrent clients (fetch, keep-alive) — next to two floors
 * in processes of their own, measured in the same rounds: an HTTP server that reads each body
 * and answers (the HTTP floor), and one that also writes each body to a file of its own, fsyncs
 * it and its folder (what making every file durable costs on this disk). Rounds alternate
 * (BENCH_ROUNDS, 3); medians of requests per second and of the server process's CPU per request.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPiper } from '../test/helpers/piper-server.ts'
import { median, printTable } from './lib/measure.ts'

const FILES = Number(process.env.BENCH_SMALL_FILES ?? 3000)
const BYTES = Number(process.env.BENCH_SMALL_BYTES ?? 4096)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

interface Measured {
  perSecond: number
  /** The server process's CPU (user + system) per request, in ms. */
  cpuMs: number
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** `FILES` requests made by `CLIENTS` clients at once; the rate and the server's CPU. */
async function measure(pid: number, request: (i: number) => Promise<void>): Promise<Measured> {
  let next = 0
  const cpuBefore = await cpuSeconds(pid)
  const began = performance.now()
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < FILES) await request(next++)
    }),
  )
  const seconds = (performance.now() - began) / 1000
  const cpu = (await cpuSeconds(pid)) - cpuBefore
  return { perSecond: FILES / seconds, cpuMs: (cpu * 1000) / FILES }
}

/** The body of file `i`: distinct bytes, so no two are stored as one chunk. */
function body(i: number): Buffer {
  const bytes = Buffer.alloc(BYTES, 'small file ')
  bytes.write(`#${i}#`)
  return bytes
}

/** PUTs file `i` to `prefix` + `i`. */
async function put(prefix: string, i: number): Promise<void> {
  const url = `${prefix}${i}`
  const res = await fetch(url, { method: 'PUT', body: body(i) })
  await res.arrayBuffer()
  if (res.status >= 300) throw new Error(`PUT ${url}: ${res.status}`)
}

/** A floor server in its own process; `durable` also writes and fsyncs each body and folder. */
async function floorServer(
  durable: boolean,
  dir: string,
): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path')
    const dir = process.argv[1]; const durable = process.argv[2] === 'durable'
    http.createServer((req, res) => {
      const parts = []
      req.on('data', (d) => parts.push(d))
      req.on('end', () => {
        if (!durable) return res.end('ok')
        const file = path.join(dir, String(req.url.split('/').at(-1)))
        fs.writeFile(file, Buffer.concat(parts), { flush: true }, (error) => {
          if (error) { res.statusCode = 500; return res.end(String(error)) }
          fs.open(dir, 'r', (error, fd) => {
            if (error) { res.statusCode = 500; return res.end(String(error)) }
            fs.fsync(fd, () => fs.close(fd, () => res.end('ok')))
          })
        })
      })
    }).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`
  const child = spawn(process.execPath, ['-e', script, dir, durable ? 'durable' : 'plain'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [port] = (await once(child.stdout!, 'data')) as [Buffer]
  return { url: `http://127.0.0.1:${port.toString().trim()}`, child }
}

async function floorRound(durable: boolean): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-bench-small-'))
  const server = await floorServer(durable, dir)
  try {
    return await measure(server.child.pid!, (i) => put(`${server.url}/`, i))
  } finally {
    server.child.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

async function piperRound(): Promise<{ put: Measured; get: Measured }> {
  const piper = await startPiper()
  try {
    const pid = piper.child.pid!
    const stored = await measure(pid, (i) => put(`${piper.url}/v1/files/small/`, i))
    const read = await measure(pid, async (i) => {
      const res = await fetch(`${piper.url}/v1/files/small/${i}`)
      const bytes = await res.arrayBuffer()
      if (res.status !== 200 || bytes.byteLength !== BYTES)
        throw new Error(`GET ${i}: ${res.status}`)
    })
    return { put: stored, get: read }
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
}

const rounds: { http: Measured; durable: Measured; put: Measured; get: Measured }[] = []
for (let round = 0; round < ROUNDS; round++) {
  const http = await floorRound(false)
  const durable = await floorRound(true)
  const piper = await piperRound()
  rounds.push({ http, durable, ...piper })
  console.error(
    `round ${round + 1}/${ROUNDS}: PUT ${piper.put.perSecond.toFixed(0)}/s, GET ${piper.get.perSecond.toFixed(0)}/s; floors: HTTP ${http.perSecond.toFixed(0)}/s, durable file ${durable.perSecond.toFixed(0)}/s`,
  )
}
const of = (key: 'http' | 'durable' | 'put' | 'get') => ({
  perSecond: median(rounds.map((r) => r[key].perSecond)),
  cpuMs: median(rounds.map((r) => r[key].cpuMs)),
})
const http = of('http')
const durable = of('durable')
const rows: (string | number)[][] = [
  [
    `${FILES} files of ${BYTES} B, ${CLIENTS} clients`,
    'requests/s',
    'server CPU ms each',
    'vs durable floor',
    'vs HTTP floor',
  ],
  ['floor: HTTP server that reads each body', http.perSecond, http.cpuMs, '', 1],
  [
    'floor: + writes, fsyncs each body and its folder',
    durable.perSecond,
    durable.cpuMs,
    1,
    durable.perSecond / http.perSecond,
  ],
]
for (const [label, key] of [
  ['piper up: PUT', 'put'],
  ['piper up: GET', 'get'],
] as const) {
  const m = of(key)
  rows.push([
    label,
    m.perSecond,
    m.cpuMs,
    m.perSecond / durable.perSecond,
    m.perSecond / http.perSecond,
  ])
}
printTable(rows)
console.log(`${ROUNDS} rounds alternating; medians.`)
