import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { decodeTask, encodeTask, type Task, taskTopic } from '../../src/jobs/index.ts'
import { compress, decompress } from '../../src/jobs/kinds/index.ts'
import { DLQ_HEADERS, dlqTopic } from '../../src/queue/index.ts'
import { NodesBlobStore, rank, StorageNode } from '../../src/storage/index.ts'
import { jobWorkers, WorkerRuntime } from '../../src/worker/index.ts'
import { collect } from '../helpers/collect.ts'
import { type StartedJobSystem, silent, startJobSystem, until } from '../helpers/job-system.ts'

const logger = silent
const TASK_TOPIC = taskTopic('compress')

/** Piper's job machinery in this process (workers started by each test as it needs). */
function setup(options: { maxDecompressOutput?: number } = {}) {
  return startJobSystem({ maxOutputBytes: options.maxDecompressOutput })
}

/** Stores `bytes` as the client's `in.txt` and creates a job compressing it. */
async function compressJob(s: StartedJobSystem, client: string, bytes: Buffer) {
  await s.files.put(client, 'in.txt', [bytes])
  const request = { type: 'compress' as const, input: 'in.txt', output: 'in.txt.gz', params: {} }
  return (await s.jobs.create(client, request)).job
}

/** Polls until the client's job is failed; returns it. */
async function failedJob(s: StartedJobSystem, client: string, id: string) {
  return until(async () => {
    const now = await s.jobs.get(client, id)
    return now.state === 'failed' ? now : undefined
  }, 'the job to fail')
}

it('a task that always throws fails its job after the configured deliveries, with the error', async () => {
  const s = await setup()
  try {
    const job = await compressJob(s, 'ann', Buffer.from('x'.repeat(5000)))
    let attempts = 0
    const runtime = new WorkerRuntime<Task>({
      queue: s.queue,
      topic: TASK_TOPIC,
      group: 'workers',
      logger,
      concurrency: 2,
      consumer: { maxDeliver: 3, backoffMs: 10, maxBackoffMs: 20 },
      decode: (message) => decodeTask(message.payload),
      handle: async () => {
        attempts++
        throw Object.assign(new Error('the disk is on fire'), { code: 'E_ON_FIRE' })
      },
      giveUp: (task, error) => s.runner.fail(task!, error),
      isPermanent: () => false,
    })
    await runtime.start()
    const failed = await failedJob(s, 'ann', job.id)
    await runtime.close()
    assert.equal(attempts, 3)
    assert.deepEqual(failed.error, { code: 'E_ON_FIRE', message: 'the disk is on fire' })
    const dead = await s.queue.consumer(dlqTopic(TASK_TOPIC), 'inspect')
    const [letter] = await dead.fetch(1, 1000)
    assert.equal(decodeTask(letter!.payload).job, job.id)
    assert.match(letter!.headers[DLQ_HEADERS.reason] ?? '', /E_ON_FIRE: the disk is on fire/)
    await dead.close()
  } finally {
    await s.close()
  }
})

it('a task dead-lettered without its worker saying so still fails its job', async () => {
  const s = await setup()
  try {
    const job = await compressJob(s, 'bob', Buffer.from('y'.repeat(5000)))
    // As the queue moves a task whose worker crashed on its last delivery.
    await s.queue.publish(dlqTopic(TASK_TOPIC), encodeTask({ kind: 'start', job: job.id }), {
      headers: { [DLQ_HEADERS.reason]: 'E_LEASE: delivered 5 times without an ack' },
    })
    const workers = jobWorkers({
      queue: s.queue,
      runner: s.runner,
      logger,
      kinds: [compress],
      concurrency: 1,
    })
    // Only the dead-letter runtime: the task runtime would run the job.
    await workers[1]!.start()
    const failed = await failedJob(s, 'bob', job.id)
    await workers[1]!.close()
    assert.deepEqual(failed.error, { code: 'E_LEASE', message: 'delivered 5 times without an ack' })
  } finally {
    await s.close()
  }
})

it('a cancelled job never runs, leaves no output, and its events end with cancelled', async () => {
  const s = await setup()
  try {
    const job = await compressJob(s, 'cy', Buffer.from('z'.repeat(50_000)))
    const cancelled = await s.jobs.cancel('cy', job.id)
    assert.equal(cancelled.state, 'cancelled')
    await assert.rejects(s.jobs.cancel('cy', job.id), { code: 'E_JOB_FINISHED' })
    await assert.rejects(s.jobs.cancel('eve', job.id), { code: 'E_JOB_NOT_FOUND' })
    const workers = jobWorkers({
      queue: s.queue,
      runner: s.runner,
      logger,
      kinds: [compress],
      concurrency: 2,
    })
    for (const w of workers) await w.start()
    const stats = await until(async () => {
      const [topic] = await s.queue.stats(TASK_TOPIC)
      const group = topic?.groups.find((g) => g.group === 'workers')
      return group && group.lag === 0 ? group : undefined
    }, 'the start task to be consumed')
    for (const w of workers) await w.close()
    assert.equal(stats.lag, 0)
    assert.equal((await s.jobs.get('cy', job.id)).state, 'cancelled')
    await assert.rejects(s.files.stat('cy', 'in.txt.gz'), { code: 'E_FILE_NOT_FOUND' })
    const events = []
    for await (const e of s.feed.backlog({ clientId: 'cy', jobId: job.id, after: 0 }))
      events.push(e)
    assert.deepEqual(
      events.map((e) => e.data.state),
      ['queued', 'cancelled'],
    )
  } finally {
    await s.close()
  }
})

it('cancelling a running job frees the parts it had stored', async () => {
  const s = await setup()
  try {
    const bytes = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join(''))
    const job = await compressJob(s, 'dan', bytes)
    // Run the start task and a few parts by hand, as a worker would, then cancel.
    await s.runner.run({ kind: 'start', job: job.id })
    const consumer = await s.queue.consumer(TASK_TOPIC, 'by-hand')
    const messages = await consumer.fetch(4, 1000)
    for (const m of messages.slice(1)) await s.runner.run(decodeTask(m.payload))
    const running = await s.meta.jobById(job.id)
    assert.equal(running?.state, 'running')
    assert.equal((await s.meta.uploadProgress(running!.uploadId!)).chunks, 3)
    await s.jobs.cancel('dan', job.id)
    assert.deepEqual(await s.meta.uploadChunks(running!.uploadId!), [])
    assert.deepEqual(await s.meta.unreferencedChunks(10), [], 'parts freed, rows and blobs')
    // A part still on the queue finds the job cancelled and stores nothing.
    const [late] = await consumer.fetch(1, 1000)
    await s.runner.run(decodeTask(late!.payload))
    assert.deepEqual(await s.meta.uploadChunks(running!.uploadId!), [])
    await consumer.close()
  } finally {
    await s.close()
  }
})

it('a decompress job is held to the server maximum, whatever its params ask', async () => {
  const s = await setup({ maxDecompressOutput: 10_000 })
  const workers = jobWorkers({
    queue: s.queue,
    runner: s.runner,
    logger,
    kinds: [decompress],
    concurrency: 1,
  })
  try {
    for (const w of workers) await w.start()
    await s.files.put('eve', 'bomb.gz', [gzipSync(Buffer.alloc(200_000))])
    const request = {
      type: 'decompress' as const,
      input: 'bomb.gz',
      output: 'bomb',
      params: { maxOutputBytes: 2 ** 40 },
    }
    const { job } = await s.jobs.create('eve', request)
    const failed = await failedJob(s, 'eve', job.id)
    assert.equal(failed.error?.code, 'E_OUTPUT_LIMIT', JSON.stringify(failed.error))
    await assert.rejects(s.files.stat('eve', 'bomb'), { code: 'E_FILE_NOT_FOUND' })
  } finally {
    for (const w of workers) await w.close()
    await s.close()
  }
})

it("a part task naming a chunk that is not its input's is refused (E_JOB_TASK), stores nothing", async () => {
  const s = await setup()
  try {
    // Another client's secret, stored as a chunk of its own.
    const secret = await s.files.put('mallory-victim', 'secret.txt', [Buffer.from('the secret')])
    const [secretChunk] = await s.meta.manifest(secret.id)
    // Two chunks: a job of one runs its part in its start task, and would have ended already.
    const job = await compressJob(s, 'eve', Buffer.from('eve owns this '.repeat(100)))
    await s.runner.run({ kind: 'start', job: job.id })
    const running = await s.meta.jobById(job.id)
    const forged = {
      kind: 'part' as const,
      job: job.id,
      seq: 0,
      total: 1,
      key: secretChunk!.key,
      size: 10,
    }
    await assert.rejects(s.runner.run(forged), { code: 'E_JOB_TASK' })
    assert.deepEqual(await s.meta.uploadChunks(running!.uploadId!), [], 'nothing stored for it')
  } finally {
    await s.close()
  }
})

it('a job of one chunk runs its part and its join in its start task: no task goes through the queue', async () => {
  const s = await setup()
  try {
    const bytes = Buffer.from('one chunk '.repeat(50))
    const job = await compressJob(s, 'solo', bytes)
    await s.runner.run({ kind: 'start', job: job.id })
    const ended = await s.meta.jobById(job.id)
    assert.equal(ended?.state, 'succeeded')
    const consumer = await s.queue.consumer(TASK_TOPIC, 'solo-check')
    const tasks = (await consumer.fetch(100, 200)).map((m) => decodeTask(m.payload))
    await consumer.close()
    assert.deepEqual(
      tasks.filter((task) => task.job === job.id && task.kind !== 'start'),
      [],
      'no part or join task published',
    )
    const output = await s.files.stat('solo', 'in.txt.gz')
    const member = await collect(s.files.read(output))
    assert.ok(gunzipSync(member).equals(bytes))
    // Its sha256 is its one chunk's key, hashed once: the sha256 of its bytes.
    assert.equal(output.sha256, createHash('sha256').update(member).digest('hex'))
    // Redelivered after it ended (a crash before its ack): nothing changes.
    await s.runner.run({ kind: 'start', job: job.id })
    assert.deepEqual(await s.meta.jobById(job.id), ended)
  } finally {
    await s.close()
  }
})

it('a job of one chunk cancelled before it runs, as it commits, or after: no output and no blob left but for the job that succeeded', async () => {
  const s = await setup()
  try {
    const { meta } = s
    const commit = meta.commitJobOutput.bind(meta)
    const run = async (client: string, when: 'before' | 'at the commit' | 'after') => {
      const job = await compressJob(s, client, Buffer.from(`${client} `.repeat(60)))
      if (when === 'before') await s.jobs.cancel(client, job.id)
      // The cancel lands after the output's blob is stored, before the commit that needs it.
      meta.commitJobOutput = async (...args) => {
        if (when === 'at the commit') await s.jobs.cancel(client, job.id)
        return commit(...args)
      }
      await s.runner.run({ kind: 'start', job: job.id })
      if (when === 'after')
        await assert.rejects(s.jobs.cancel(client, job.id), { code: 'E_JOB_FINISHED' })
      const output = await s.files.stat(client, 'in.txt.gz').catch(() => undefined)
      return { state: (await s.meta.jobById(job.id))?.state, output: output !== undefined }
    }
    assert.deepEqual(await run('before', 'before'), { state: 'cancelled', output: false })
    assert.deepEqual(await run('committing', 'at the commit'), {
      state: 'cancelled',
      output: false,
    })
    assert.deepEqual(await run('after', 'after'), { state: 'succeeded', output: true })
    // No blob without its chunk row: the refused commit deleted the output it had just stored.
    const blobs = []
    for await (const blob of s.blobs.list('')) blobs.push(blob.key)
    for (const key of blobs) assert.ok(await s.meta.hasChunk(key), `blob ${key} is an orphan`)
    assert.equal(blobs.length, 4, 'the three inputs and the one output')
  } finally {
    await s.close()
  }
})

it('a cancel racing the commit of the output: either the job succeeded with its output, or it is cancelled with none', async () => {
  const s = await setup()
  try {
    const outcomes = { succeeded: 0, cancelled: 0 }
    for (let round = 0; round < 10; round++) {
      const client = `racer${round}`
      const job = await compressJob(s, client, Buffer.from(`round ${round} `.repeat(300)))
      // Everything but the commit, by hand, as workers would.
      await s.runner.run({ kind: 'start', job: job.id })
      const consumer = await s.queue.consumer(TASK_TOPIC, `race-${round}`)
      const tasks = (await consumer.fetch(100, 1000)).map((m) => decodeTask(m.payload))
      for (const task of tasks)
        if (task.job === job.id && task.kind === 'part') await s.runner.run(task)
      await consumer.close()
      const running = await s.meta.jobById(job.id)
      const [cancel, join] = await Promise.allSettled([
        s.jobs.cancel(client, job.id),
        s.runner.run({ kind: 'join', job: job.id }),
      ])
      const end = await s.meta.jobById(job.id)
      const output = await s.files.stat(client, 'in.txt.gz').catch(() => undefined)
      if (end?.state === 'succeeded') {
        outcomes.succeeded++
        assert.equal(cancel.status, 'rejected', 'the cancel of a job that succeeded says so')
        assert.ok(output, 'a job that succeeded has its output')
      } else {
        outcomes.cancelled++
        assert.equal(end?.state, 'cancelled')
        assert.equal(output, undefined, 'a cancelled job leaves no output')
        assert.deepEqual(await s.meta.uploadChunks(running!.uploadId!), [], 'its parts are freed')
        if (join.status === 'rejected') assert.ok(join.reason instanceof Error)
      }
    }
    assert.equal(outcomes.succeeded + outcomes.cancelled, 10)
  } finally {
    await s.close()
  }
})

it('a part whose input copy is damaged reads it again as the storage nodes check it, and the job succeeds from the good copy', async () => {
  const data = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'piper-node-'))))
  const nodes = data.map(
    (dir) => new StorageNode({ data: dir, host: '127.0.0.1', port: 0, logger }),
  )
  for (const node of nodes) await node.start()
  const urls = nodes.map((node) => node.url)
  const blobs = new NodesBlobStore({ nodes: urls, redundancy: { replicas: 2 } })
  const s = await startJobSystem({ blobs })
  try {
    const bytes = Buffer.from('a chunk kept on two nodes '.repeat(30))
    const job = await compressJob(s, 'rex', bytes)
    // The input's copy a read tries first, damaged on its node's disk.
    const key = createHash('sha256').update(bytes).digest('hex')
    const [first] = rank(
      key,
      urls.map((name) => ({ name, weight: 1 })),
    )
    const file = join(
      data[urls.indexOf(first!.name)]!,
      'blobs',
      key.slice(0, 2),
      key.slice(2, 4),
      key,
    )
    const stored = await readFile(file)
    stored[stored.length - 50]! ^= 0xff
    await writeFile(file, stored)
    await s.runner.run({ kind: 'start', job: job.id })
    assert.equal((await s.meta.jobById(job.id))?.state, 'succeeded')
    const output = await s.files.stat('rex', 'in.txt.gz')
    assert.ok(gunzipSync(await collect(s.files.read(output))).equals(bytes))
  } finally {
    await s.close()
    for (const node of nodes) await node.close()
    await Promise.all(data.map((dir) => rm(dir, { recursive: true, force: true })))
  }
})
