/**
 * `npm run bench -- queue`: Piper's queue (embedded, and `piper queue serve` in its own process)
 * against NATS JetStream, Redis Streams and BullMQ, 1 KiB messages, all in one run:
 * - batched publish (1000 in flight, after an untimed warm-up of N/4 for every system) and
 *   one-at-a-time awaited publish;
 * - end to end: 1 producer → 2 consumers in other processes (fetch → ack);
 * - publish-to-delivery latency at a steady 1000 msg/s (p50, p99);
 * - the floors under those latencies: the disk's own 1 KiB write + fdatasync (its rate, and its
 *   p50/p99 at the latency run's pace), a bare WebSocket echo between two processes, and the
 *   same echo with an O_DSYNC write of each message before its reply;
 * - the start-up time of a log of 10 million messages (BENCH_STARTUP_MESSAGES) with and without
 *   its snapshot.
 * BENCH_QUEUE_MESSAGES sets the messages per throughput run (default 20000).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { Log } from '../src/log/index.ts'
import { createLogger } from '../src/telemetry/index.ts'
import { YOUNG_GENERATION } from '../test/helpers/cli.ts'
import { freePort } from '../test/helpers/ports.ts'
import { printTable } from './lib/measure.ts'
import { openPeer, type Peer, type PeerKind, type PeerPlace } from './lib/queue-peers.ts'

const N = Number(process.env.BENCH_QUEUE_MESSAGES ?? 20_000)
const STARTUP_MESSAGES = Number(process.env.BENCH_STARTUP_MESSAGES ?? 10_000_000)
const CONSUMER = fileURLToPath(new URL('./lib/queue-consumer.ts', import.meta.url))
const ECHO = fileURLToPath(new URL('./lib/ws-echo.ts', import.meta.url))
// As users run it: `bin/piper.js`, with the V8 flag its shebang passes.
const PIPER = fileURLToPath(new URL('../bin/piper.js', import.meta.url))
const payload = randomBytes(1024)
const logger = createLogger({ level: 'silent' })

const SYSTEMS: { kind: PeerKind; label: string; fsync: string }[] = [
  { kind: 'embedded', label: 'piper embedded', fsync: 'fsync before every confirm' },
  { kind: 'serve', label: 'piper queue serve', fsync: 'fsync before every confirm' },
  {
    kind: 'nats',
    label: 'NATS JetStream (file)',
    fsync: 'server sync_interval (2 min): not before the ack',
  },
  {
    kind: 'redis-streams',
    label: 'Redis Streams',
    fsync: "this machine's Redis keeps nothing on disk",
  },
  { kind: 'bullmq', label: 'BullMQ', fsync: "this machine's Redis keeps nothing on disk" },
]

let topics = 0
const nextTopic = () => `bench.q${process.pid}-${topics++}`

/** Publishes `count` messages, 1000 in flight. */
async function publishAll(peer: Peer, count = N): Promise<void> {
  let sent = 0
  await Promise.all(
    Array.from({ length: 1000 }, async () => {
      while (sent < count) {
        sent++
        await peer.publish(payload)
      }
    }),
  )
}

/**
 * Untimed publishes before a system's first measurement. Redis and NATS have served all day,
 * while `piper queue serve` starts for this run and the clients load with it: measured cold,
 * the served queue's first batched run came out 30-40% under its later ones.
 */
async function warmUp(kind: PeerKind, place: PeerPlace): Promise<void> {
  const peer = await openPeer(kind, nextTopic(), place)
  await publishAll(peer, N / 4)
  await peer.close()
}

async function batched(kind: PeerKind, place: PeerPlace): Promise<number> {
  const peer = await openPeer(kind, nextTopic(), place)
  const start = performance.now()
  await publishAll(peer)
  const rate = N / ((performance.now() - start) / 1000)
  await peer.close()
  return rate
}

async function oneAtATime(kind: PeerKind, place: PeerPlace): Promise<number> {
  const peer = await openPeer(kind, nextTopic(), place)
  const start = performance.now()
  let n = 0
  while (performance.now() - start < 2000) {
    await peer.publish(payload)
    n++
  }
  const rate = n / ((performance.now() - start) / 1000)
  await peer.close()
  return rate
}

/** Two consumers in other processes (in this one for the embedded queue, which is in-process). */
async function endToEnd(kind: PeerKind, place: PeerPlace): Promise<number> {
  const topic = nextTopic()
  const peer = await openPeer(kind, topic, place)
  let consumed = 0
  const stops: (() => Promise<void>)[] = []
  const children: ChildProcess[] = []
  if (kind === 'embedded') {
    for (let i = 0; i < 2; i++) stops.push(await peer.consume(() => consumed++))
  } else {
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [CONSUMER, kind, topic, place.serveUrl], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      children.push(child)
      await new Promise<void>((resolve) => {
        let ready = false
        child.stdout!.setEncoding('utf8').on('data', (text: string) => {
          for (const line of text.split('\n')) {
            if (line === 'ready' && !ready) {
              ready = true
              resolve()
            } else if (/^\d+$/.test(line)) consumed += Number(line)
          }
        })
      })
    }
  }
  const start = performance.now()
  await publishAll(peer)
  while (consumed < N) await sleep(2)
  const rate = N / ((performance.now() - start) / 1000)
  for (const stop of stops) await stop()
  for (const child of children) {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  await peer.close()
  return rate
}

/** The latency runs' pace: 1000 a second for 3 s. */
const PACED = 3000

/** Calls `each` at the latency runs' pace, awaiting what it returns. */
async function paced(each: (i: number) => unknown): Promise<void> {
  const start = performance.now()
  for (let i = 0; i < PACED; i++) {
    const wait = start + i - performance.now()
    if (wait > 1) await sleep(wait)
    await each(i)
  }
}

/**
 * Sends a copy of the payload stamped with the time at the latency runs' pace; resolves once
 * every sample is in (or after 15 s). The receiver pushes `age(message)` into `samples`.
 */
async function stamped(send: (message: Buffer) => void, samples: number[]): Promise<void> {
  const start = performance.now()
  await paced(() => {
    const message = Buffer.from(payload)
    message.writeDoubleLE(performance.now(), 0)
    send(message)
  })
  while (samples.length < PACED && performance.now() - start < 15_000) await sleep(5)
}

/** Milliseconds since a stamped message was sent. */
function age(bytes: Uint8Array): number {
  return (
    performance.now() - Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readDoubleLE(0)
  )
}

/** p50 and p99 publish-to-delivery at a steady 1000 msg/s for 3 s (consumer in this process). */
async function latency(kind: PeerKind, place: PeerPlace): Promise<[number, number]> {
  const peer = await openPeer(kind, nextTopic(), place)
  const samples: number[] = []
  const stop = await peer.consume((bytes) => samples.push(age(bytes)))
  await stamped((message) => void peer.publish(message), samples)
  await stop()
  await peer.close()
  return percentiles(samples)
}

async function diskFsyncRate(dir: string): Promise<number> {
  const file = await open(join(dir, 'raw'), 'w')
  const start = performance.now()
  let n = 0
  while (performance.now() - start < 2000) {
    await file.write(payload)
    await file.datasync()
    n++
  }
  await file.close()
  return n / ((performance.now() - start) / 1000)
}

/**
 * The disk's own latency floor for anything that fsyncs before it delivers: a 1 KiB write and
 * fdatasync at the latency run's pace (1000 a second for 3 s), p50 and p99.
 */
async function diskLatency(dir: string): Promise<[number, number]> {
  const file = await open(join(dir, 'raw-paced'), 'w')
  const samples: number[] = []
  await paced(async (i) => {
    const t0 = performance.now()
    await file.write(payload, 0, payload.length, i * payload.length)
    await file.datasync()
    samples.push(performance.now() - t0)
  })
  await file.close()
  return percentiles(samples)
}

/**
 * The floors under the served latency that are not Piper's: a bare WebSocket echo between this
 * process and another, 1 KiB at the latency run's pace, p50 and p99; with `syncFile`, the echo
 * writes each message there through an O_DSYNC descriptor first.
 */
async function echoLatency(syncFile?: string): Promise<[number, number]> {
  const args = syncFile ? [ECHO, syncFile] : [ECHO]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(line.trim()))
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`the echo process exited with ${code}`)))
    })
    const socket = new WebSocket(`ws://127.0.0.1:${port}`)
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    const samples: number[] = []
    socket.on('message', (data: Buffer) => samples.push(age(data)))
    await stamped((message) => socket.send(message), samples)
    socket.close()
    return percentiles(samples)
  } finally {
    child.kill('SIGTERM')
  }
}

function percentiles(samples: number[]): [number, number] {
  samples.sort((a, b) => a - b)
  return [samples[Math.floor(samples.length * 0.5)]!, samples[Math.floor(samples.length * 0.99)]!]
}

/** Start-up of a log holding `count` small messages, with and without its snapshot. */
async function startup(dir: string, count: number): Promise<[number, number]> {
  const options = {
    dir: join(dir, 'big'),
    fsync: { kind: 'never' as const },
    logger,
    snapshotEveryMs: 0,
  }
  const log = await Log.open(options)
  const small = Buffer.from('{"job":"0123456789"}')
  for (let done = 0; done < count; done += 10_000) {
    await Promise.all(
      Array.from({ length: Math.min(10_000, count - done) }, () => log.append(small)),
    )
  }
  await log.close()
  const time = async () => {
    const start = performance.now()
    const reopened = await Log.open(options)
    const ms = performance.now() - start
    await reopened.close()
    return ms
  }
  const withSnapshot = await time()
  await rm(join(dir, 'big', 'snapshot'))
  const t0 = performance.now()
  const reopened = await Log.open(options)
  const withoutSnapshot = performance.now() - t0
  await reopened.close()
  return [withSnapshot, withoutSnapshot]
}

const dir = await mkdtemp(join(tmpdir(), 'piper-bench-queue-'))
const port = await freePort()
const server = spawn(
  process.execPath,
  [
    YOUNG_GENERATION,
    PIPER,
    'queue',
    'serve',
    '--data',
    join(dir, 'served'),
    '--port',
    String(port),
    '--log-level',
    'warn',
  ],
  { stdio: 'inherit' },
)
try {
  await sleep(1500)
  const place: PeerPlace = { dir: join(dir, 'embedded'), serveUrl: `piper://127.0.0.1:${port}` }
  const disk = await diskFsyncRate(dir)
  const [diskP50, diskP99] = await diskLatency(dir)
  const [echoP50, echoP99] = await echoLatency()
  const [syncEchoP50, syncEchoP99] = await echoLatency(join(dir, 'echo-sync'))
  const results = new Map<
    PeerKind,
    { batched: number; single: number; e2e: number; p50: number; p99: number }
  >()
  for (const system of SYSTEMS) {
    await warmUp(system.kind, place)
    const row = {
      batched: await batched(system.kind, place),
      single: await oneAtATime(system.kind, place),
      e2e: await endToEnd(system.kind, place),
      p50: 0,
      p99: 0,
    }
    ;[row.p50, row.p99] = await latency(system.kind, place)
    results.set(system.kind, row)
    console.error(`${system.label}: done`)
  }
  console.log(`1 KiB messages, ${N} per throughput run; 2 cores shared by everything here`)
  printTable([
    [
      'system',
      'batched pub/s',
      'awaited pub/s',
      'end-to-end/s',
      'p50 ms',
      'p99 ms',
      'when it fsyncs',
    ],
    ...SYSTEMS.map((s) => {
      const r = results.get(s.kind)!
      return [s.label, r.batched, r.single, r.e2e, r.p50, r.p99, s.fsync]
    }),
    ['disk: 1 KiB write + fdatasync', '', disk, '', diskP50, diskP99, 'every write'],
    ['ws echo, two processes', '', '', '', echoP50, echoP99, 'no disk'],
    ['ws echo after an O_DSYNC write', '', '', '', syncEchoP50, syncEchoP99, 'every message'],
  ])
  const get = (k: PeerKind) => results.get(k)!
  const [withSnapshot, withoutSnapshot] = await startup(dir, STARTUP_MESSAGES)
  console.log('\nratios (target in brackets)')
  printTable([
    ['measure', 'ratio', 'target'],
    [
      'serve batched publish / Redis Streams',
      get('serve').batched / get('redis-streams').batched,
      '≥ 1',
    ],
    ['serve end-to-end / NATS JetStream', get('serve').e2e / get('nats').e2e, '≥ 2'],
    ['serve end-to-end / BullMQ', get('serve').e2e / get('bullmq').e2e, '≥ 4'],
    ['embedded end-to-end / NATS JetStream', get('embedded').e2e / get('nats').e2e, '≥ 5'],
    ['embedded awaited publish / disk fsync rate', get('embedded').single / disk, '≥ 0.8'],
    ['serve p99 at 1000 msg/s (ms)', get('serve').p99, '< 2'],
    ['  floors: disk write + fdatasync p99 at 1000/s (ms)', diskP99, ''],
    ['  floors: ws echo between two processes p99 (ms)', echoP99, ''],
    ['  floors: ws echo after an O_DSYNC write p99 (ms)', syncEchoP99, ''],
  ])
  console.log(
    `\nstart-up of a log of ${STARTUP_MESSAGES} messages: ${withSnapshot.toFixed(0)} ms with the snapshot (target < 1000), ${withoutSnapshot.toFixed(0)} ms without`,
  )
} finally {
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  await rm(dir, { recursive: true, force: true })
}
