/**
 * `npm run bench -- pipelines`: runs of the DAG a → 10 × b → c (c joins the ten), with tiny
 * payloads so the engine is what is measured, on Piper (`piper up`, a process of its own: a =
 * extract of a 10-file tar, b = compress of each file, c = tar of the ten) and on BullMQ flows
 * (workers in a process of their own on the local Redis: a adds the flow c ← 10 × b). The same
 * closed loop drives both: `BENCH_IN_FLIGHT` runs outstanding (32), `BENCH_RUNS` runs (200) per
 * round, rounds alternating; runs per second, run latency p50/p99 and the CPU each system's
 * processes spent per run, medians of the rounds. `BENCH_SIDES=piper` leaves BullMQ out.
 *
 * What each side makes durable differs, and the table says so: Piper fsyncs every queue append,
 * every SQLite commit that changes a job or run, and every stored file before it acknowledges a
 * step; the machine's Redis runs with `appendonly no` and no snapshots, so BullMQ on it fsyncs
 * nothing. A second Redis, started by this bench with `appendfsync always`, measures BullMQ
 * with every write durable too.
 *
 * Beside them, the floor (`lib/pipeline-floor.ts`): the same DAG's work (the tar read, ten
 * gzips, the tar of them) and the durable records Piper promises (each output file stored by
 * content with an fsync, each step's records committed and synced before the next starts, a
 * run's creation before its `202`) in a bare process with no engine: what any engine that keeps
 * those promises could reach on this machine. `BENCH_SIDES` picks the sides (`piper,bullmq,floor`).
 *
 * Then one run's fan-out at each of `BENCH_FAN_OUTS` items (500 and 5 000): items per second,
 * and the largest's over the smallest's (about 1 when an advance costs no more in a large run).
 * `BENCH_B=hash` measures Piper's a → 10 × hash instead (see `B_KIND`), Piper alone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Queue as BullQueue } from 'bullmq'
import { Redis } from 'ioredis'
import { pack as tarPack } from 'tar-stream'
import { readSse } from '../src/cli/sse-reader.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { freePort } from '../test/helpers/ports.ts'
import { isListening } from '../test/helpers/services.ts'
import { median, printTable } from './lib/measure.ts'
import { cpuByProcess, type ProcessGroup } from './lib/process-cpu.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 200)
/** The items of the one-run fan-outs measured after the DAG (`extract` → `compress` each). */
const FAN_OUTS = (process.env.BENCH_FAN_OUTS ?? '500,5000').split(',').map(Number)
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
/**
 * `BENCH_B=hash` makes Piper's b a `hash` (a result, no file) and leaves c out (a join needs
 * files): what a run costs with nothing stored after a, to tell the engine from its file path.
 */
const B_KIND = process.env.BENCH_B ?? 'compress'
/**
 * `BENCH_SIDES=piper` measures Piper alone (to compare two builds of it): no BullMQ rounds; nor
 * with `BENCH_B`, as BullMQ (and the floor) run only the table's DAG.
 */
const SIDES = (process.env.BENCH_SIDES ?? 'piper,bullmq,floor').split(',')
const BULLMQ = B_KIND === 'compress' && SIDES.includes('bullmq')
/**
 * The floor (`lib/pipeline-floor.ts`): the DAG's work and its durable records in a bare process,
 * none of Piper's code: what any engine doing what Piper promises could reach on this machine.
 */
const FLOOR = B_KIND === 'compress' && SIDES.includes('floor')

interface Round {
  runsPerSecond: number
  p50: number
  p99: number
  /** CPU ms per run of the system measured: `piper up`, or BullMQ's workers and its Redis. */
  cpuMsPerRun: number
}

/** The processes of a round, by command line; the bench's own client is not the system's. */
const systemProcess: ProcessGroup = (cmdline) =>
  /bin\/piper\.js|bullmq-flow-workers|redis-server|pipeline-floor/.test(cmdline)
    ? 'system'
    : 'other'

/** `closedLoop` with the CPU the system's processes spent meanwhile (`/proc/PID/stat`). */
async function measuredLoop(...args: Parameters<typeof closedLoop>): Promise<Round> {
  const { result, seconds } = await cpuByProcess(systemProcess, () => closedLoop(...args))
  return { ...result, cpuMsPerRun: ((seconds.get('system') ?? 0) * 1000) / args[0] }
}

/**
 * Runs' ends as the system reports them, matched to the lanes waiting for them. An end may be
 * reported before its lane has learned the run's id (the run finished while the response that
 * created it was still on its way), so an end nobody waits for yet is kept for its lane.
 */
class Endings {
  readonly #waiting = new Map<string, () => void>()
  readonly #early = new Set<string>()

  end(id: string): void {
    const resolve = this.#waiting.get(id)
    if (!resolve) {
      this.#early.add(id)
      return
    }
    this.#waiting.delete(id)
    resolve()
  }

  wait(id: string): Promise<void> {
    if (this.#early.delete(id)) return Promise.resolve()
    const done = Promise.withResolvers<void>()
    this.#waiting.set(id, done.resolve)
    return done.promise
  }
}

/**
 * Starts `total` runs with `start`, keeping `inFlight` outstanding; a run is done when `endings`
 * says so (the caller wires it to the system's completion events).
 */
async function closedLoop(
  total: number,
  start: (i: number) => Promise<string>,
  endings: Endings,
): Promise<Omit<Round, 'cpuMsPerRun'>> {
  const latencies: number[] = []
  let next = 0
  const began = performance.now()
  async function lane(): Promise<void> {
    while (next < total) {
      const i = next++
      const t0 = performance.now()
      await endings.wait(await start(i))
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  const seconds = (performance.now() - began) / 1000
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!
  return { runsPerSecond: total / seconds, p50: at(0.5), p99: at(0.99) }
}

async function tinyTar(entries = 10): Promise<Buffer> {
  const archive = tarPack()
  for (let i = 0; i < entries; i++)
    archive.entry({ name: `f${i}.txt` }, `item ${i}: ${'x'.repeat(64)}\n`)
  archive.finalize()
  const parts: Buffer[] = []
  for await (const part of archive) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

async function piperRound(): Promise<Round> {
  const piper = await startPiper(['--workers', '2'])
  const json = { 'content-type': 'application/json' }
  try {
    await fetch(`${piper.url}/v1/files/in/tiny.tar`, { method: 'PUT', body: await tinyTar() })
    const steps: Record<string, object> = {
      a: { kind: 'extract', output: 'w/{run}/' },
      b: { kind: B_KIND, use: ['a'] },
    }
    if (B_KIND === 'compress') steps.c = { kind: 'tar', use: ['b'], output: 'o/{run}.tar' }
    await fetch(`${piper.url}/v1/pipelines`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'dag', steps }),
    })
    return await sseRound(`${piper.url}/v1/events`, `${piper.url}/v1/runs`, {
      pipeline: 'dag',
      input: 'in/tiny.tar',
    })
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
}

/**
 * A round of runs started by `POST runsUrl` with `body` (answered with the run's `id`), each
 * ended by a `state` event of `eventsUrl`'s SSE stream that says `succeeded`.
 */
async function sseRound(eventsUrl: string, runsUrl: string, body: object): Promise<Round> {
  const endings = new Endings()
  const events = new AbortController()
  const opened = await fetch(eventsUrl, { signal: events.signal })
  const listening = (async () => {
    for await (const event of readSse(opened.body!)) {
      const data = JSON.parse(event.data) as { run?: string; state?: string }
      if (event.event !== 'state' || !data.run) continue
      if (data.state === 'failed') throw new Error(`run ${data.run} failed: ${event.data}`)
      if (data.state === 'succeeded') endings.end(data.run)
    }
    // A stream that ends mid-round would leave its lanes waiting for ever: say so instead (a
    // run's failure, above, and this end both stop the bench through the unhandled rejection).
    throw new Error('the event stream ended before the round did')
  })().catch((error: unknown) => {
    if (!events.signal.aborted) throw error
  })
  const round = await measuredLoop(
    RUNS,
    async () => {
      const res = await fetch(runsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return ((await res.json()) as { id: string }).id
    },
    endings,
  )
  events.abort()
  await listening
  return round
}

/** A round of the DAG on the floor's bare process (`lib/pipeline-floor.ts`). */
async function floorRound(): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-bench-floor-'))
  const floor = spawn(
    process.execPath,
    [fileURLToPath(new URL('./lib/pipeline-floor.ts', import.meta.url)), dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    const [line] = (await once(createInterface({ input: floor.stdout! }), 'line')) as [string]
    const url = `http://127.0.0.1:${Number(line)}`
    await fetch(`${url}/files/in/tiny.tar`, { method: 'PUT', body: await tinyTar() })
    return await sseRound(`${url}/events`, `${url}/runs`, { input: 'in/tiny.tar' })
  } finally {
    floor.kill('SIGTERM')
    if (floor.exitCode === null) await once(floor, 'exit')
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * One run of `extract` (a tar of `items` tiny files) → `compress` of each, alone on a fresh
 * `piper up`: items per second from the run's creation to its end. A run's advances look at
 * its jobs; this says whether that look grows with the run.
 */
async function fanOut(items: number): Promise<number> {
  const piper = await startPiper(['--workers', '2'])
  const json = { 'content-type': 'application/json' }
  try {
    await fetch(`${piper.url}/v1/files/in/many.tar`, { method: 'PUT', body: await tinyTar(items) })
    const steps = {
      a: { kind: 'extract', params: { maxEntries: items } },
      b: { kind: 'compress', use: ['a'] },
    }
    await fetch(`${piper.url}/v1/pipelines`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'fan', steps }),
    })
    const began = performance.now()
    const res = await fetch(`${piper.url}/v1/runs`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pipeline: 'fan', input: 'in/many.tar' }),
    })
    const { id } = (await res.json()) as { id: string }
    const events = await fetch(`${piper.url}/v1/runs/${id}/events`)
    for await (const event of readSse(events.body!)) {
      if (event.event !== 'state') continue
      const { state } = JSON.parse(event.data) as { state: string }
      if (state === 'succeeded') break
      if (state !== 'queued' && state !== 'running') throw new Error(`fan-out run ${state}`)
    }
    return items / ((performance.now() - began) / 1000)
  } finally {
    await piper.stop()
    await rm(piper.data, { recursive: true, force: true })
  }
}

async function bullRound(round: number, port: number): Promise<Round> {
  const prefix = `bench-flow-${process.pid}-${round}`
  const connection = { host: '127.0.0.1', port }
  const worker: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(new URL('./lib/bullmq-flow-workers.ts', import.meta.url)), prefix, String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  // Runs end as the worker process reports its `c` jobs completed, a line each. (The bench
  // followed them with `QueueEvents` and a `getJob` each before; one round in a few dozen
  // waited for ever with every `c` job completed in Redis.)
  const endings = new Endings()
  const lines = createInterface({ input: worker.stdout! })
  const ready = Promise.withResolvers<void>()
  lines.on('line', (line) => {
    if (line === 'ready') ready.resolve()
    else endings.end(line)
  })
  const died = new Promise<never>((_, reject) =>
    worker.once('exit', (code) => reject(new Error(`the BullMQ workers exited (${code})`))),
  )
  await Promise.race([ready.promise, died])
  const a = new BullQueue(`${prefix}-a`, { connection })
  try {
    const loop = measuredLoop(
      RUNS,
      async (i) => {
        const run = `r${i}`
        await a.add('a', { run }, { removeOnComplete: true })
        return run
      },
      endings,
    )
    return await Promise.race([loop, died])
  } finally {
    died.catch(() => {})
    worker.kill('SIGTERM')
    await once(worker, 'exit')
    await a.close()
    const redis = new Redis(connection)
    const keys = await redis.keys(`bull:${prefix}-*`)
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
    await redis.quit()
  }
}

/**
 * A Redis of this run's own that makes every write durable before it answers (append-only
 * file, fsync always), so BullMQ can be measured with what Piper promises too.
 */
async function durableRedis(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-bench-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
  const server = spawn(
    'redis-server',
    [...args, '--appendonly', 'yes', '--appendfsync', 'always'],
    {
      stdio: 'ignore',
    },
  )
  while (!(await isListening('127.0.0.1', port, 200))) await sleep(20)
  return {
    port,
    stop: async () => {
      server.kill('SIGTERM')
      await once(server, 'exit')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const durable = BULLMQ ? await durableRedis() : undefined
/** Keeps a round with its side's and says it: runs/s and CPU ms per run. */
const rate = (side: Round[], round: Round) => {
  side.push(round)
  return `${round.runsPerSecond.toFixed(1)} runs/s (${round.cpuMsPerRun.toFixed(1)} CPU ms/run)`
}
const piper: Round[] = []
const bull: Round[] = []
const bullDurable: Round[] = []
const floor: Round[] = []
try {
  for (let round = 0; round < ROUNDS; round++) {
    const said: string[] = []
    if (SIDES.includes('piper')) said.push(`piper ${rate(piper, await piperRound())}`)
    if (FLOOR) said.push(`floor ${rate(floor, await floorRound())}`)
    if (durable) {
      said.push(`bullmq ${rate(bull, await bullRound(round, 6379))}`)
      said.push(
        `bullmq on a durable redis ${rate(bullDurable, await bullRound(round, durable.port))}`,
      )
    }
    console.error(`round ${round + 1}/${ROUNDS}: ${said.join(', ')}`)
  }
} finally {
  await durable?.stop()
}
if (durable && piper.length > 0) printDag()

/** The DAG's table: each side's medians, and the ratios. */
function printDag(): void {
  const rows: (string | number)[][] = [
    ['DAG a → 10 × b → c', 'runs/s', 'p50 ms', 'p99 ms', 'CPU ms/run', 'vs BullMQ', 'durable'],
  ]
  const summary = (rounds: Round[]) => ({
    rps: median(rounds.map((r) => r.runsPerSecond)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpu: median(rounds.map((r) => r.cpuMsPerRun)),
  })
  const p = summary(piper)
  const b = summary(bull)
  const d = summary(bullDurable)
  rows.push([
    'piper up (embedded, SQLite)',
    p.rps,
    p.p50,
    p.p99,
    p.cpu,
    p.rps / b.rps,
    'fsync: queue, SQLite, files',
  ])
  rows.push(['BullMQ flows (Redis)', b.rps, b.p50, b.p99, b.cpu, 1, 'nothing (appendonly no)'])
  rows.push([
    'BullMQ flows (Redis, AOF fsync always)',
    d.rps,
    d.p50,
    d.p99,
    d.cpu,
    d.rps / b.rps,
    'every write (appendfsync always)',
  ])
  const f = floor.length > 0 ? summary(floor) : undefined
  if (f) {
    rows.push([
      'floor: the work and its records, bare',
      f.rps,
      f.p50,
      f.p99,
      f.cpu,
      f.rps / b.rps,
      'fsync: SQLite, files',
    ])
  }
  printTable(rows)
  console.log(
    `${RUNS} runs per round, ${IN_FLIGHT} in flight, ${ROUNDS} rounds alternating; medians. Piper ÷ durable BullMQ: ${(p.rps / d.rps).toFixed(2)}.${f ? ` Piper ÷ the floor: ${(p.rps / f.rps).toFixed(2)}.` : ''} Goal: Piper ≥ 2× BullMQ's runs/s.`,
  )
}

const fanRows: (string | number)[][] = [['one run: extract → N × compress', 'items', 'items/s']]
const rates: number[] = []
for (const items of FAN_OUTS) {
  rates.push(await fanOut(items))
  fanRows.push([`piper up, ${items} items`, items, rates.at(-1)!])
}
printTable(fanRows)
console.log(
  `items/s of ${FAN_OUTS.at(-1)} items ÷ of ${FAN_OUTS[0]}: ${(rates.at(-1)! / rates[0]!).toFixed(2)} (1 when a run's advance costs the same however large the run).`,
)
