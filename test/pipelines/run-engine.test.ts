import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { isTerminal } from '../../src/jobs/index.ts'
import { type StartedJobSystem, startJobSystem } from '../helpers/job-system.ts'

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
})
