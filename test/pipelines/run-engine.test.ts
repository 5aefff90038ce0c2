import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { isTerminal } from '../../src/jobs/index.ts'
import type { RunStore } from '../../src/meta/index.ts'
import { RunEngine } from '../../src/pipelines/index.ts'
import { type StartedJobSystem, silent, startJobSystem } from '../helpers/job-system.ts'

describe('the run engine, driven by hand', () => {
  let s: StartedJobSystem
  before(async () => {
    // No workers: this test runs every advance itself, and no job ever runs.
    s = await startJobSystem({ runMaxInFlight: 2 })
    for (let i = 0; i < 5; i++)
      await s.files.put('ann', `in/${i}.txt`, [Buffer.from(`file ${i}\n`)])
    await s.pipelines.save('ann', {
      name: 'gz',
      steps: {
        gz: { kind: 'compress', on_failure: 'continue' },
        all: { kind: 'tar', use: ['gz'] },
      },
    })
  })
  after(() => s.close())

  const inputs = [0, 1, 2, 3, 4].map((i) => `in/${i}.txt`)
  const active = async (id: string) =>
    (await s.meta.runJobs(id)).filter((job) => !isTerminal(job.state))

  it('queues at most maxInFlight jobs of a run, and each item once however many advances race', async () => {
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs })
    await Promise.all([
      s.engine.advance(run.id),
      s.engine.advance(run.id),
      s.engine.advance(run.id),
    ])
    const jobs = await s.meta.runJobs(run.id)
    assert.deepEqual(
      jobs.map((j) => [j.step, j.item, j.input]),
      [
        ['gz', 0, 'in/0.txt'],
        ['gz', 1, 'in/1.txt'],
      ],
    )
    const started = await s.runs.get('ann', run.id)
    assert.equal(started.run.state, 'running')
    assert.deepEqual(started.run.steps.gz, { state: 'running', items: 5, done: 0, failed: 0 })
    assert.equal(started.status.steps.all!.state, 'waiting')

    // An item ending (here: cancelled) frees a place for the next one, and only one.
    await s.jobs.cancel('ann', jobs[0]!.id)
    await Promise.all([s.engine.advance(run.id), s.engine.advance(run.id)])
    assert.equal((await s.meta.runJobs(run.id)).length, 3)
    assert.equal((await active(run.id)).length, 2)

    // Cancelling the run cancels what is still queued, and no advance creates more.
    await s.runs.cancel('ann', run.id)
    await s.engine.advance(run.id)
    assert.equal((await active(run.id)).length, 0)
    assert.equal((await s.meta.runJobs(run.id)).length, 3)
    await assert.rejects(s.runs.cancel('ann', run.id), { code: 'E_RUN_FINISHED' })
  })

  it('jobs an advance made and died before recording (its step still waiting) are found, not made twice', async () => {
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs: inputs.slice(0, 2) })
    assert.equal(run.steps.gz!.state, 'waiting')
    // What an advance elsewhere left: the step's jobs, under the engine's keys, and no update.
    const made = await s.jobs.createMany(
      'ann',
      [0, 1].map((item) => ({
        request: {
          type: 'compress',
          input: inputs[item]!,
          output: `${inputs[item]}.gz`,
          params: {},
        },
        idempotencyKey: `${run.id}:gz:${item}`,
        run: { id: run.id, step: 'gz', item },
      })),
    )
    await s.engine.advance(run.id)
    const jobs = await s.meta.runJobs(run.id)
    assert.deepEqual(
      jobs.map((j) => j.id).sort(),
      made.map(({ job }) => job.id).sort(),
      'the advance took up the jobs already made',
    )
    const { run: now } = await s.runs.get('ann', run.id)
    assert.deepEqual(now.steps.gz, { state: 'running', items: 2, done: 0, failed: 0 })
    await s.runs.cancel('ann', run.id)
  })

  it('a run whose items all failed skips the steps that would read nothing, and succeeds', async () => {
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs: inputs.slice(0, 2) })
    await s.engine.advance(run.id)
    for (const job of await s.meta.runJobs(run.id)) await s.jobs.cancel('ann', job.id)
    await s.engine.advance(run.id)
    const { run: ended, status } = await s.runs.get('ann', run.id)
    assert.equal(ended.state, 'succeeded')
    assert.equal(status.steps.gz!.state, 'failed')
    assert.equal(status.steps.all!.state, 'skipped')
    assert.deepEqual(ended.result?.failed_steps, ['gz'])
  })

  it('an idempotency key returns the same run', async () => {
    const first = await s.runs.create('ann', { pipeline: 'gz', inputs }, 'key-1')
    const again = await s.runs.create('ann', { pipeline: 'gz', inputs }, 'key-1')
    assert.equal(first.created, true)
    assert.equal(again.created, false)
    assert.equal(again.run.id, first.run.id)
    await s.runs.cancel('ann', first.run.id)
  })

  /** Another engine on the same store, as a second process has; `meta` may be wrapped. */
  const engineOf = (
    meta: StartedJobSystem['meta'] = s.meta,
    known?: { runs?: number; jobs?: number },
  ) =>
    new RunEngine({
      meta,
      jobs: s.jobs,
      kinds: s.kinds,
      feed: s.feed,
      logger: silent,
      maxInFlight: 2,
      known,
    })
  /** The store, counting the rows of jobs an engine reads, and its reads of whole runs. */
  const counting = () => {
    const read = { rows: 0, whole: 0 }
    const store = new Proxy(s.meta, {
      get(target, key) {
        const value = Reflect.get(target, key, target)
        if (key === 'runJobs') read.whole++
        if (typeof value !== 'function') return value
        if (key !== 'stepJobs' && key !== 'endedJobs') return value.bind(target)
        return async (...args: unknown[]) => {
          const rows = (await value.apply(target, args)) as unknown[]
          read.rows += rows.length
          return rows
        }
      },
    }) satisfies RunStore
    return { store, read }
  }
  const cancelActive = async (id: string) => {
    for (const job of await active(id)) await s.jobs.cancel('ann', job.id)
  }

  it('engines of two processes advancing one run each see the jobs the other created and ended', async () => {
    const [one, two] = [engineOf(), engineOf()]
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs })
    await one.advance(run.id) // items 0 and 1
    await two.advance(run.id) // knows them: no room
    await s.jobs.cancel('ann', (await active(run.id))[0]!.id)
    await one.advance(run.id) // item 2
    await cancelActive(run.id)
    await two.advance(run.id) // reads 1 and 0 ended, finds 2 (ended too): items 3 and 4
    const jobs = await s.meta.runJobs(run.id)
    assert.deepEqual(
      jobs.map((job) => job.item),
      [0, 1, 2, 3, 4],
    )
    await cancelActive(run.id)
    // One advance of the first engine ends the run: it finds items 3 and 4, ended, on its own.
    await one.advance(run.id)
    const { run: ended, status } = await s.runs.get('ann', run.id)
    assert.equal(ended.state, 'succeeded')
    assert.deepEqual(ended.steps.gz, { state: 'failed', items: 5, done: 0, failed: 5 })
    assert.equal(status.steps.all!.state, 'skipped')
  })

  it('sees a retried job end again: an ended job it read before is read afresh', async () => {
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs: inputs.slice(0, 2) })
    await s.engine.advance(run.id)
    const [first, second] = await s.meta.runJobs(run.id)
    for (const job of [first!, second!]) await s.files.put('ann', job.output, [Buffer.from('gz')])
    const end = async (id: string, patch: Parameters<typeof s.meta.updateJob>[2]) => {
      const job = await s.jobs.get('ann', id)
      assert.ok(await s.meta.updateJob(id, job.version, patch))
    }
    await end(first!.id, { state: 'failed', error: { code: 'E_TEST', message: 'failed once' } })
    await s.engine.advance(run.id) // the first item is known failed
    await s.jobs.retry('ann', first!.id)
    await end(first!.id, { state: 'succeeded' })
    await end(second!.id, { state: 'succeeded' })
    await s.engine.advance(run.id)
    const { run: now, status } = await s.runs.get('ann', run.id)
    assert.deepEqual(now.steps.gz, { state: 'succeeded', items: 2, done: 2, failed: 0 })
    assert.equal(status.steps.all!.state, 'running')
    await s.runs.cancel('ann', run.id)
  })

  it('an advance reads the jobs that may have changed, not every job of the run', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `many/${i}.txt`)
    for (const name of many) await s.files.put('ann', name, [Buffer.from(name)])
    const { store, read } = counting()
    const engine = engineOf(store)
    const { run } = await s.runs.create('ann', { pipeline: 'gz', inputs: many })
    await engine.advance(run.id)
    const perAdvance: number[] = []
    while ((await s.runs.get('ann', run.id)).run.state === 'running') {
      await cancelActive(run.id)
      read.rows = 0
      await engine.advance(run.id)
      perAdvance.push(read.rows)
    }
    assert.equal((await s.meta.runJobs(run.id)).length, 40)
    assert.equal(perAdvance.length, 20)
    // The two that ended and the two it created before: never the whole run.
    assert.ok(Math.max(...perAdvance) <= 4, `rows read per advance: ${perAdvance.join(' ')}`)
    assert.equal(read.whole, 0)
  })

  it('keeps the jobs of the runs it advanced last up to its limit, and reads a run dropped whole again', async () => {
    const { store, read } = counting()
    const roomy = engineOf(store)
    const tight = engineOf(store, { jobs: 3 })
    const [a, b] = [
      (await s.runs.create('ann', { pipeline: 'gz', inputs: inputs.slice(0, 2) })).run,
      (await s.runs.create('ann', { pipeline: 'gz', inputs: inputs.slice(2, 4) })).run,
    ]
    for (const engine of [roomy, tight]) {
      await engine.advance(a.id) // two jobs each, one engine creating them for both
      await engine.advance(b.id)
    }
    read.rows = 0
    await roomy.advance(a.id)
    assert.equal(read.rows, 0, 'known: nothing ended, nothing new')
    await tight.advance(a.id)
    assert.equal(read.rows, 2, 'dropped for the later run (4 jobs over 3): read again')
    for (const run of [a, b]) await s.runs.cancel('ann', run.id)
  })
})
