/**
 * `npm run soak [-- ROUNDS]` (default 10): the kill loops, many times, with what each lost,
 * duplicated or left stuck. Not in CI (the crash tests there run a few rounds of each).
 *
 * - queue: `piper queue publish` of 50 000 lines while `piper queue serve` is killed -9 and
 *   restarted twice; every confirmed line must be stored, and no line twice.
 * - upload: `piper up` killed -9 while a PUT streams; a file is visible after the restart only
 *   if its upload was confirmed, and then whole; the GC then frees what the cut one stored.
 * - job: `piper up` killed -9 while 4 compress jobs run; after the restart every job ends
 *   `succeeded` (none stuck), each output a gzip of its input.
 * - pipeline: `piper up` killed -9 at a random moment of a run (a 20-item fan-out over 3
 *   shards, a two-parent join); after the restart the run ends `succeeded` once, with one job
 *   per item and every item in the join exactly once, in order.
 *
 * `SOAK_LOOPS=pipeline,job` runs only those loops.
 *
 * - fuzz: the front door's property test with 10 000 generated requests per round.
 *
 * Prints a line per round and totals; exits 1 if anything was lost, duplicated or stuck, or
 * the fuzz failed.
 */
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { running, startPiperProcess } from '../test/helpers/piper-process.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { freePort } from '../test/helpers/ports.ts'
import { storedPayloads, writeLines } from '../test/helpers/queue-lines.ts'
import { isListening } from '../test/helpers/services.ts'
import { tarOf } from '../test/helpers/tar-of.ts'

const rounds = Number(process.argv[2] ?? 10)
const totals = { kills: 0, confirmed: 0, lost: 0, duplicated: 0, stuck: 0 }
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

const piper = startPiperProcess

async function queueRound(): Promise<Partial<typeof totals>> {
  const data = await mkdtemp(join(tmpdir(), 'piper-soak-queue-'))
  const port = await freePort()
  const serve = async () => {
    const server = piper(['queue', 'serve', '--data', data, '--port', String(port)])
    while (!(await isListening('127.0.0.1', port, 200))) await sleep(20)
    return server
  }
  try {
    let server = await serve()
    const lines = 50_000
    const publisher = piper(
      ['queue', 'publish', 'soak.lines', '--queue', `piper://127.0.0.1:${port}`],
      'pipe',
    )
    const writing = writeLines(publisher.child.stdin!, lines)
    let kills = 0
    for (const after of [5_000, 25_000]) {
      while (publisher.stdout().split('\n').length < after && publisher.child.exitCode === null)
        await sleep(10)
      server.child.kill('SIGKILL')
      await server.exited
      kills++
      await sleep(Math.random() * 300)
      server = await serve()
    }
    await writing
    await publisher.exited
    server.child.kill('SIGTERM')
    await server.exited
    const confirmed = publisher
      .stdout()
      .split('\n')
      .filter((l) => /^\d+$/.test(l)).length
    const counts = await storedPayloads(join(data, 'queue'), 'soak.lines')
    // The publisher confirms in line order: the first `confirmed` lines must all be there.
    let lost = 0
    for (let i = 0; i < confirmed; i++) if (!counts.has(`line-${i}`)) lost++
    const duplicated = [...counts.values()].filter((n) => n > 1).length
    return { kills, confirmed, lost, duplicated }
  } finally {
    await rm(data, { recursive: true, force: true })
  }
}

/** PUT `bytes` slowly (so a kill lands mid-body); resolves with the status, or 0 if cut. */
function slowPut(url: string, name: string, bytes: Buffer): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'PUT',
        path: `/v1/files/${name}`,
        headers: { 'content-length': bytes.length },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.once('error', () => resolve(0))
    void (async () => {
      for (let at = 0; at < bytes.length; at += 256 << 10) {
        if (!req.write(bytes.subarray(at, at + (256 << 10))))
          await once(req, 'drain').catch(() => {})
        await sleep(5)
      }
      req.end()
    })()
  })
}

async function uploadRound(): Promise<Partial<typeof totals>> {
  const first = await startPiper(['--chunk-size', '256K'])
  try {
    const whole = randomBytes(2 << 20)
    const done = await slowPut(first.url, 'done.bin', whole)
    const cutBytes = randomBytes(16 << 20)
    const cut = slowPut(first.url, 'cut.bin', cutBytes)
    await sleep(50 + Math.random() * 200)
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')
    const cutStatus = await cut
    const second = await startPiper(['--chunk-size', '256K'], {}, first.data)
    try {
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
      const got = async (name: string) => {
        const res = await fetch(`${second.url}/v1/files/${name}`)
        return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined
      }
      let lost = 0
      const confirmed = (done === 201 ? 1 : 0) + (cutStatus === 201 ? 1 : 0)
      const doneBack = await got('done.bin')
      if (done === 201 && (!doneBack || sha(doneBack) !== sha(whole))) lost++
      const cutBack = await got('cut.bin')
      if (cutStatus === 201 && (!cutBack || sha(cutBack) !== sha(cutBytes))) lost++
      // Not confirmed: it may be absent, or (if the 201 was lost with the kill) whole.
      if (cutStatus !== 201 && cutBack && sha(cutBack) !== sha(cutBytes)) lost++
      return { kills: 1, confirmed, lost, duplicated: 0 }
    } finally {
      await second.stop()
    }
  } finally {
    await rm(first.data, { recursive: true, force: true })
  }
}

async function jobRound(): Promise<Partial<typeof totals>> {
  const args = ['--chunk-size', '64K', '--workers', '2']
  const first = await startPiper(args)
  try {
    const inputs = Array.from({ length: 4 }, (_, i) =>
      Buffer.from(
        Array.from({ length: 40_000 }, (_, j) => `job ${i} line ${j} ${j % 97}\n`).join(''),
      ),
    )
    const ids: string[] = []
    for (const [i, input] of inputs.entries()) {
      await fetch(`${first.url}/v1/files/in${i}.txt`, { method: 'PUT', body: input })
      const res = await fetch(`${first.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'compress', input: `in${i}.txt` }),
      })
      ids.push(((await res.json()) as { id: string }).id)
    }
    await sleep(Math.random() * 400)
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')
    const second = await startPiper(args, {}, first.data)
    try {
      let stuck = 0
      let lost = 0
      for (const [i, id] of ids.entries()) {
        const deadline = Date.now() + 120_000
        let state = ''
        while (Date.now() < deadline) {
          state = ((await (await fetch(`${second.url}/v1/jobs/${id}`)).json()) as { state: string })
            .state
          if (state === 'succeeded' || state === 'failed') break
          await sleep(100)
        }
        if (state !== 'succeeded') {
          stuck++
          continue
        }
        const gz = Buffer.from(
          await (await fetch(`${second.url}/v1/files/in${i}.txt.gz`)).arrayBuffer(),
        )
        if (!gunzipSync(gz).equals(inputs[i]!)) lost++
      }
      return { kills: 1, confirmed: ids.length, lost, stuck }
    } finally {
      await second.stop()
    }
  } finally {
    await rm(first.data, { recursive: true, force: true })
  }
}

async function pipelineRound(): Promise<Partial<typeof totals>> {
  const args = ['--chunk-size', '64K', '--workers', '2']
  const first = await startPiper(args)
  const json = { 'content-type': 'application/json' }
  try {
    const { tar, files } = await tarOf(20)
    await fetch(`${first.url}/v1/files/in/photos.tar`, { method: 'PUT', body: tar })
    const steps = {
      unpack: { kind: 'extract', output: 'work/' },
      gz: { kind: 'compress', use: ['unpack'], shards: 3 },
      sums: { kind: 'hash', use: ['unpack'] },
      bundle: { kind: 'tar', use: ['gz', ':input'], output: 'out/bundle.tar' },
    }
    const body = JSON.stringify({ name: 'soak', steps })
    await fetch(`${first.url}/v1/pipelines`, { method: 'POST', headers: json, body })
    const started = await fetch(`${first.url}/v1/runs`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pipeline: 'soak', input: 'in/photos.tar' }),
    })
    const { id } = (await started.json()) as { id: string }
    await sleep(Math.random() * 1500)
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')
    const second = await startPiper(args, {}, first.data)
    try {
      const deadline = Date.now() + 120_000
      let run = { state: '', steps: {} as Record<string, { jobs: string[] }> }
      while (Date.now() < deadline) {
        run = (await (await fetch(`${second.url}/v1/runs/${id}`)).json()) as typeof run
        if (['succeeded', 'failed', 'cancelled'].includes(run.state)) break
        await sleep(100)
      }
      if (run.state !== 'succeeded') return { kills: 1, confirmed: 1, stuck: 1 }
      const bundle = Buffer.from(
        await (await fetch(`${second.url}/v1/files/out/bundle.tar`)).arrayBuffer(),
      )
      const listed = spawnSync('tar', ['-t'], { input: bundle })
        .stdout.toString()
        .trim()
        .split('\n')
      const expected = [...[...files.keys()].map((n) => `work/${n}.gz`), 'in/photos.tar']
      const lost = expected.filter((name) => !listed.includes(name)).length
      const jobs = Object.values(run.steps).reduce((n, s) => n + s.jobs.length, 0)
      const duplicated = listed.length - new Set(listed).size + (jobs - (2 + 2 * files.size))
      return { kills: 1, confirmed: 1, lost, duplicated }
    } finally {
      await second.stop()
    }
  } finally {
    await rm(first.data, { recursive: true, force: true })
  }
}

const allLoops = { queue: queueRound, upload: uploadRound, job: jobRound, pipeline: pipelineRound }
const chosen = process.env.SOAK_LOOPS?.split(',')
const loops = Object.fromEntries(
  Object.entries(allLoops).filter(([name]) => !chosen || chosen.includes(name)),
)
for (let round = 1; round <= rounds; round++) {
  for (const [name, loop] of Object.entries(loops)) {
    const r = await loop()
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += r[key] ?? 0
    console.log(
      `round ${round}/${rounds} ${name}: kills ${r.kills ?? 0}, confirmed ${r.confirmed ?? 0}, lost ${r.lost ?? 0}, duplicated ${r.duplicated ?? 0}, stuck ${r.stuck ?? 0}`,
    )
  }
}
console.log(
  `soak: ${rounds} rounds, ${totals.kills} kills, ${totals.confirmed} confirmed, ${totals.lost} lost, ${totals.duplicated} duplicated, ${totals.stuck} stuck`,
)
// The front door's fuzz, longer than CI's 2000 requests: 10 000 per round.
const fuzzRuns = String(10_000 * rounds)
const fuzz = spawnSync(
  process.execPath,
  ['--test', fileURLToPath(new URL('../test/gateway/front-door.test.ts', import.meta.url))],
  { env: { ...process.env, PIPER_FUZZ_RUNS: fuzzRuns }, encoding: 'utf8' },
)
const fuzzPassed = fuzz.status === 0
console.log(
  `fuzz: ${fuzzRuns} generated requests against a live piper up: ${fuzzPassed ? 'every answer well-formed, none 5xx, still serving' : 'FAILED'}`,
)
if (!fuzzPassed) console.log(fuzz.stdout.slice(-4000))
process.exitCode = totals.lost + totals.duplicated + totals.stuck > 0 || !fuzzPassed ? 1 : 0
