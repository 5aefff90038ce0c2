import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { EmbeddedQueue, type Queue, type QueueMessage, RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { freePort } from '../helpers/ports.ts'
import { isListening } from '../helpers/services.ts'

const CLIENT = fileURLToPath(new URL('./crash-client.ts', import.meta.url))
const PIPER = fileURLToPath(new URL('../../bin/piper.ts', import.meta.url))
const logger = createLogger({ level: 'silent' })
const dirs: string[] = []
const children = new Set<ChildProcess>()
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-queue-crash-'))
  dirs.push(dir)
  return dir
}

/** A child process whose stdout lines are collected (a line cut by a kill is dropped). */
function run(args: string[]): {
  child: ChildProcess
  lines: () => string[]
  exited: Promise<void>
} {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  exited.then(() => children.delete(child))
  return { child, lines: () => out.split('\n').slice(0, -1), exited }
}

async function until(test: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await sleep(20)
  }
}

/** Every message of `topic` as a fresh group reads it. */
async function readAll(queue: Queue, topic: string): Promise<QueueMessage[]> {
  const consumer = await queue.consumer(topic, `check-${Date.now()}`)
  const all: QueueMessage[] = []
  for (;;) {
    const batch = await consumer.fetch(1000, 200)
    if (batch.length === 0) break
    all.push(...batch)
  }
  await consumer.close()
  return all
}

/** Confirmed offsets all present with the payload confirmed; everything present is intact. */
function checkConfirmed(messages: QueueMessage[], confirmed: Map<number, string>): void {
  const byOffset = new Map(messages.map((m) => [m.offset, m]))
  for (const m of messages) {
    const sha = createHash('sha256').update(m.payload).digest('hex')
    assert.equal(m.headers.sha, sha, `message ${m.offset} is damaged`)
  }
  for (const [offset, id] of confirmed) {
    const m = byOffset.get(offset)
    assert.ok(m, `confirmed offset ${offset} (${id}) lost`)
    assert.ok(
      Buffer.from(m.payload).toString().startsWith(`${id}:`),
      `offset ${offset} holds another message`,
    )
  }
}

/** Reopens the queue folder after the kill and checks every confirmed message of `topic`. */
async function verifyReopened(dir: string, topic: string, confirmed: Map<number, string>) {
  const queue = new EmbeddedQueue({ dir, logger })
  await queue.start()
  try {
    checkConfirmed(await readAll(queue, topic), confirmed)
  } finally {
    await queue.close()
  }
}

function collectConfirms(lines: string[], into: Map<number, string>): void {
  for (const line of lines) {
    const [offset, id] = line.split(' ')
    into.set(Number(offset), id!)
  }
}

async function serve(dir: string, port: number) {
  const server = run([
    PIPER,
    'queue',
    'serve',
    '--data',
    dir,
    '--port',
    String(port),
    '--log-level',
    'warn',
  ])
  for (let i = 0; i < 200 && !(await isListening('127.0.0.1', port, 200)); i++) await sleep(25)
  return server
}

// Rounds here are few; scripts/soak-queue.sh runs this file in a loop.
it('kill -9 of an embedded producer (fsync=always) loses no confirmed message', async () => {
  const dir = await tempDir()
  const confirmed = new Map<number, string>()
  for (let round = 0; round < 3; round++) {
    const producer = run([CLIENT, 'produce', `embedded:${dir}`, 'crash.embedded', `p${round}`])
    await until(() => producer.lines().length > 20)
    await sleep(Math.random() * 300)
    producer.child.kill('SIGKILL')
    await producer.exited
    collectConfirms(producer.lines(), confirmed)
    await verifyReopened(dir, 'crash.embedded', confirmed)
  }
})

it('kill -9 of piper queue serve under load from several clients loses no confirmed message', async () => {
  const dir = await tempDir()
  const port = await freePort()
  const confirmed = new Map<number, string>()
  for (let round = 0; round < 2; round++) {
    const server = await serve(dir, port)
    const producers = [0, 1, 2].map((i) =>
      run([CLIENT, 'produce', `piper://127.0.0.1:${port}`, 'crash.served', `r${round}c${i}`]),
    )
    await until(() => producers.every((p) => p.lines().length > 20))
    await sleep(Math.random() * 300)
    server.child.kill('SIGKILL')
    await server.exited
    // Clients keep retrying against a dead server; what they confirmed before is what counts.
    for (const p of producers) {
      p.child.kill('SIGKILL')
      await p.exited
      collectConfirms(p.lines(), confirmed)
    }
    await verifyReopened(join(dir, 'queue'), 'crash.served', confirmed)
  }
})

it('a consumer killed mid-lease: its messages go to another after the ack deadline; acked ones never return', async () => {
  const dir = await tempDir()
  const port = await freePort()
  const server = await serve(dir, port)
  const url = `piper://127.0.0.1:${port}`
  const queue = new RemoteQueue({ url, logger })
  await queue.start()
  try {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => queue.publish('crash.lease', Buffer.from(`m${i}`))),
    )
    const doomed = run([CLIENT, 'consume', url, 'crash.lease', 'workers'])
    await until(() => doomed.lines().includes('ready'))
    doomed.child.kill('SIGKILL')
    await doomed.exited
    const acked = doomed
      .lines()
      .filter((l) => l.startsWith('acked '))
      .map((l) => Number(l.slice(6)))
    const held = doomed
      .lines()
      .filter((l) => l.startsWith('holding '))
      .map((l) => Number(l.slice(8)))
    assert.ok(held.length >= 10)
    const survivor = await queue.consumer('crash.lease', 'workers')
    const seen = new Map<number, number>()
    const end = Date.now() + 15_000
    while (Date.now() < end && seen.size < 60 - acked.length) {
      for (const m of await survivor.fetch(50, 500)) {
        seen.set(m.offset, m.deliveries)
        await survivor.ack(m)
      }
    }
    for (const offset of acked) assert.ok(!seen.has(offset), `acked offset ${offset} came back`)
    for (const offset of held)
      assert.equal(seen.get(offset), 2, `held offset ${offset} redelivered once`)
    assert.equal(seen.size + acked.length, 60, 'every message delivered')
  } finally {
    await queue.close()
    server.child.kill('SIGTERM')
    await server.exited
  }
})
