/**
 * `npm run bench -- cluster`: compress jobs per second, whole processes on loopback, the cluster
 * shape against `piper up` on the same work in the same run.
 *
 * BENCH_CLUSTER_JOBS (200) files of 1 MiB of text are uploaded (not timed); then all their
 * compress jobs are posted at once and the clock runs until the last has succeeded (followed on
 * the gateway's event stream). Setups, in an order that rotates each of BENCH_ROUNDS (3) rounds:
 * - `piper up` (SQLite, embedded queue, fs), 2 codec threads;
 * - a cluster on PostgreSQL, `piper queue serve` and one storage node: 1 gateway + 1 worker
 *   process with 1 codec thread;
 * - the same with 2 worker processes of 1 thread each (this machine's 2 cores).
 * Medians; ratios: 2 workers ÷ 1 (the goal is ≥ 1.7) and the cluster ÷ piper up (≥ 0.8), with
 * the machine's CPU in each (from /proc/stat: how busy the cores were, CPU time per job), so
 * the ceiling this machine puts on adding workers is printed beside the ratio, and by process
 * (from /proc/PID/stat: gateway, workers, queue server, storage node, PostgreSQL, the bench's own
 * client), so where the cluster spends its CPU per job shows.
 *
 * Then the floor under the cluster's ratio on this machine (`lib/cluster-floor.ts`): the CPU a
 * job's traffic between processes costs with none of Piper's code (its bytes through a bare blob
 * server, as many PostgreSQL round trips as the cluster sent per job, its queue messages over a
 * bare WebSocket), and the codec's own CPU per job (an in-process loop, labelled so). With both,
 * the bench prints the cluster's best rate on this machine if Piper's code in it cost nothing
 * more, over `piper up`'s: the ratio's ceiling here.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSse } from '../src/cli/sse-reader.ts'
import { startPiper, startRole } from '../test/helpers/piper-server.ts'
import { dropTestSchemas, freshPostgresUrl, POSTGRES_URL } from '../test/helpers/postgres.ts'
import { startQueueServer } from '../test/helpers/queue-server.ts'
import { startStorageNodes } from '../test/helpers/storage-nodes.ts'
import { type ClusterFloor, clusterFloor, codecPerJob } from './lib/cluster-floor.ts'
import { generatedText } from './lib/inputs.ts'
import { machineCpu } from './lib/machine-cpu.ts'
import { printTable } from './lib/measure.ts'
import { cpuByProcess } from './lib/process-cpu.ts'

const JOBS = Number(process.env.BENCH_CLUSTER_JOBS ?? 200)
/** The files compressed: 1 MiB of text each, made unique by 16 random bytes. */
const INPUTS = Array.from({ length: JOBS }, (_, i) =>
  Buffer.concat([generatedText(1 << 20, i + 1), randomBytes(16)]),
)
/** A job's round trips to the queue server: the task's publish, its delivery, its ack. */
const QUEUE_MESSAGES_PER_JOB = 3
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

interface Setup {
  label: string
  start: (dir: string) => Promise<Running>
}

interface Running {
  url: string
  /** Every process that speaks to the metadata database, by its group (for `/metrics`). */
  roles: { group: string; url: string }[]
  stop: () => Promise<void>
}

/** A cluster of one gateway and `workers` worker processes of one codec thread each. */
function cluster(workers: number): Setup {
  return {
    label: `cluster: 1 gateway + ${workers} worker${workers > 1 ? 's' : ''} (1 thread each)`,
    start: async (dir) => {
      const queue = await startQueueServer(dir)
      const nodes = await startStorageNodes(1)
      const shared = [
        '--meta',
        freshPostgresUrl(),
        '--queue',
        queue.url,
        '--blobs',
        `nodes://${nodes.addresses[0]}?redundancy=replicas:1`,
      ]
      const started: Awaited<ReturnType<typeof startRole>>[] = []
      const stop = async () => {
        await Promise.all(started.map((p) => p.stop()))
        await nodes.stop()
        await queue.stop()
      }
      try {
        started.push(await startRole('gateway', shared))
        for (let i = 0; i < workers; i++) {
          started.push(await startRole('worker', [...shared, '--workers', '1']))
        }
      } catch (error) {
        // A role that would not start leaves nothing running behind the bench.
        await stop()
        throw error
      }
      return {
        url: started[0]!.url,
        roles: started.map((p, i) => ({ group: i === 0 ? 'gateway' : 'workers', url: p.url })),
        stop,
      }
    },
  }
}

const SETUPS: Setup[] = [
  {
    label: 'piper up (2 threads)',
    start: async (dir) => {
      const piper = await startPiper([], {}, join(dir, 'up'))
      return {
        url: piper.url,
        roles: [{ group: 'piper up', url: piper.url }],
        stop: async () => void (await piper.stop()),
      }
    },
  },
  cluster(1),
  cluster(2),
]

interface Measured {
  ms: number
  /** Share of the machine's cores busy meanwhile (every process). */
  busy: number
  cpuSeconds: number
  /** CPU seconds by kind of process meanwhile. */
  byProcess: Map<string, number>
  /** Statements sent to the metadata database meanwhile, by kind of process (`/metrics`). */
  statements: Map<string, number>
}

/** `piper_meta_statements_total` of each role now, summed by group. */
async function metaStatements(roles: Running['roles']): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const { group, url } of roles) {
    const text = await (await fetch(`${url}/metrics`)).text()
    const n = Number(/^piper_meta_statements_total (\d+)/m.exec(text)?.[1] ?? 0)
    out.set(group, (out.get(group) ?? 0) + n)
  }
  return out
}

/** Which part of the setup a process is, from its command line. */
function processGroup(cmdline: string): string {
  if (cmdline.startsWith('postgres')) return 'PostgreSQL'
  if (cmdline.includes('.bench.ts')) return 'bench client' // bench/run.ts runs each bench so
  if (!cmdline.includes('piper')) return 'other'
  if (cmdline.includes(' queue serve')) return 'queue server'
  if (cmdline.includes(' storage serve')) return 'storage node'
  if (cmdline.includes(' gateway ')) return 'gateway'
  if (cmdline.includes(' worker ')) return 'workers'
  return cmdline.includes(' up') ? 'piper up' : 'other'
}

/**
 * Uploads the inputs, then posts every job and waits for the last to succeed: the wall time,
 * and the machine's CPU meanwhile.
 */
async function jobsWall({ url, roles }: Running): Promise<Measured> {
  let statements = new Map<string, number>()
  for (let i = 0; i < JOBS; i++) {
    const res = await fetch(`${url}/v1/files/in/${i}.txt`, { method: 'PUT', body: INPUTS[i] })
    if (res.status !== 201) throw new Error(`upload: ${res.status}`)
  }
  const {
    result: { result: ms, busy, cpuSeconds },
    seconds: byProcess,
  } = await cpuByProcess(processGroup, async () => {
    const before = await metaStatements(roles)
    const measured = await machineCpu(() => postAndWait(url))
    const after = await metaStatements(roles)
    for (const [group, n] of after) after.set(group, n - (before.get(group) ?? 0))
    statements = after
    return measured
  })
  return { ms, busy, cpuSeconds, byProcess, statements }
}

/**
 * Posts every job, then waits for the last to succeed, followed as users follow them: on the
 * gateway's event stream (`/v1/events`), opened before the first post, not by polling the list.
 */
async function postAndWait(url: string): Promise<number> {
  const events = new AbortController()
  const opened = await fetch(`${url}/v1/events`, { signal: events.signal })
  const posted = new Set<string>()
  const succeeded = new Set<string>()
  const allDone = Promise.withResolvers<void>()
  const check = () => {
    if (posted.size === JOBS && [...posted].every((id) => succeeded.has(id))) allDone.resolve()
  }
  const listening = (async () => {
    for await (const event of readSse(opened.body!)) {
      if (event.event !== 'state') continue
      const data = JSON.parse(event.data) as { job?: string; state?: string }
      if (!data.job) continue
      if (data.state === 'failed') throw new Error(`a job failed: ${event.data}`)
      if (data.state === 'succeeded') succeeded.add(data.job)
      check()
    }
  })().catch((error: unknown) => {
    if (!events.signal.aborted) allDone.reject(error)
  })
  const start = performance.now()
  try {
    await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const res = await fetch(`${url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'compress', input: `in/${i}.txt` }),
        })
        if (res.status !== 202) throw new Error(`job: ${res.status} ${await res.text()}`)
        posted.add(((await res.json()) as { id: string }).id)
      }),
    )
    check()
    await allDone.promise
    return performance.now() - start
  } finally {
    events.abort()
    await listening
  }
}

let floor: ClusterFloor | undefined
let codec: ReturnType<typeof codecPerJob> | undefined
const walls = new Map<string, Measured[]>(SETUPS.map((s) => [s.label, []]))
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < SETUPS.length; k++) {
      const setup = SETUPS[(round + k) % SETUPS.length]!
      const dir = await mkdtemp(join(tmpdir(), 'piper-bench-cluster-'))
      const running = await setup.start(dir)
      try {
        walls.get(setup.label)!.push(await jobsWall(running))
      } finally {
        await running.stop()
        await rm(dir, { recursive: true, force: true })
      }
    }
  }
  const statementsPerJob = [...medianRound(SETUPS[2]!.label).statements.values()].reduce(
    (a, b) => a + b,
    0,
  )
  codec = codecPerJob(INPUTS)
  floor = await clusterFloor({
    jobs: JOBS,
    inFlight: 4,
    inputs: INPUTS,
    outputSizes: codec.outputSizes,
    statements: Math.round(statementsPerJob / JOBS),
    messages: QUEUE_MESSAGES_PER_JOB,
    databaseUrl: POSTGRES_URL,
  })
} finally {
  await dropTestSchemas()
}
/** The round of median wall time of a setup. */
function medianRound(label: string): Measured {
  const rounds = [...walls.get(label)!].sort((a, b) => a.ms - b.ms)
  return rounds[Math.floor(rounds.length / 2)]!
}
const rate = (label: string) => JOBS / (medianRound(label).ms / 1000)
const [up, one, two] = SETUPS.map((s) => rate(s.label)) as [number, number, number]
const cpuMsPerJob = (label: string) => (medianRound(label).cpuSeconds * 1000) / JOBS
const busy = (label: string) => `${Math.round(medianRound(label).busy * 100)}%`
console.log(`\n## ${JOBS} compress jobs of 1 MiB each, medians of ${ROUNDS} rounds`)
printTable([
  ['', 'jobs/s', 'wall s', 'ratio', 'machine busy', 'CPU ms/job'],
  ...SETUPS.map((setup, i) => {
    const r = [up, one, two][i]!
    return [setup.label, r, JOBS / r, r / up, busy(setup.label), cpuMsPerJob(setup.label)]
  }),
])
// What this machine allows: with one worker the cluster already keeps the cores this busy, so
// a second worker can add at most what is left; and at full load the cluster's rate is the
// machine's CPU over its CPU per job.
const oneBusy = medianRound(SETUPS[1]!.label).busy
console.log(
  `2 workers ÷ 1 worker: ${(two / one).toFixed(2)} (goal ≥ 1.7; this machine's ceiling with 1 worker ${Math.round(oneBusy * 100)}% busy: ${(1 / oneBusy).toFixed(2)}); cluster (2 workers) ÷ piper up: ${(two / up).toFixed(2)} (goal ≥ 0.8; CPU per job ${(cpuMsPerJob(SETUPS[2]!.label) / cpuMsPerJob(SETUPS[0]!.label)).toFixed(2)}× piper up's)`,
)
console.log('\nCPU ms per job by process (the median round of each setup):')
const groups = [...new Set(SETUPS.flatMap((s) => [...medianRound(s.label).byProcess.keys()]))]
printTable([
  ['', ...groups],
  ...SETUPS.map((setup) => [
    setup.label,
    ...groups.map((g) =>
      Math.round(((medianRound(setup.label).byProcess.get(g) ?? 0) * 1000) / JOBS),
    ),
  ]),
])
console.log('\nStatements sent to the metadata database per job, by process (its /metrics):')
printTable([
  ['', 'piper up', 'gateway', 'workers'],
  ...SETUPS.map((setup) => [
    setup.label,
    ...['piper up', 'gateway', 'workers'].map((g) =>
      Math.round((medianRound(setup.label).statements.get(g) ?? 0) / JOBS),
    ),
  ]),
])
console.log(
  `walls (ms): ${JSON.stringify(Object.fromEntries([...walls].map(([k, v]) => [k, v.map((m) => Math.round(m.ms))])))}`,
)

// The floor: what this machine allows the cluster at best, against piper up in the same run.
const least = codec!.cpuMs + floor!.cpuMsPerJob
const bestRate = (availableParallelism() * 1000) / least
console.log('\nThe floor under the cluster on this machine (per job):')
printTable([
  ['', 'CPU ms/job'],
  [
    `traffic between processes with no Piper code (${floor!.statements} PostgreSQL round trips, ${QUEUE_MESSAGES_PER_JOB} WebSocket messages, the bytes through a bare blob server)`,
    floor!.cpuMsPerJob,
  ],
  ['the codec and the hashes of input and output (in-process loop)', codec!.cpuMs],
  ['the cluster at best', least],
  ['the cluster, measured (2 workers)', cpuMsPerJob(SETUPS[2]!.label)],
])
console.log(
  `At best, with both cores busy and Piper's code costing nothing beyond the floor: ${bestRate.toFixed(0)} jobs/s, ${(bestRate / up).toFixed(2)}× piper up's ${up.toFixed(0)} (the ceiling on cluster ÷ piper up here; goal ≥ 0.8).`,
)
