import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { newJobId } from '../../src/jobs/index.ts'
import type {
  HistoryStore,
  MetaStore,
  PrunedHistory,
  RunStore,
  ScheduleTicks,
  WebhookStore,
} from '../../src/meta/index.ts'
import { newRunId } from '../../src/pipelines/index.ts'

type Store = MetaStore & RunStore & HistoryStore & ScheduleTicks & WebhookStore

const DAY = 24 * 3_600_000
const T0 = 1_800_000_000_000

/** What every `HistoryStore` adapter must delete, and keep. */
export function runHistoryStoreContract(
  name: string,
  create: (t: TestContext) => Promise<Store | undefined>,
): void {
  describe(`HistoryStore contract: ${name}`, () => {
    it('deletes what ended before the moment, with its events, a batch at a time; keeps what is live, newer, or a live run reads', async (t) => {
      t.mock.timers.enable({ apis: ['Date'], now: T0 })
      const store = await create(t)
      if (!store) return t.mock.timers.reset()
      try {
        const job = (state: JobEnd, run?: RunRef) => makeJob(store, state, run)
        const run = (state: 'succeeded' | 'running') => makeRun(store, state)
        // Ten days ago: ended plain jobs, a running one, an ended run with its ended jobs and a
        // queued one left by a crash, a running run with an ended job, ticks, a delivery.
        const oldEnded = [await job('succeeded'), await job('succeeded'), await job('succeeded')]
        const oldRunning = await job('running')
        const endedRun = await run('succeeded')
        const endedRunJobs = [
          await job('succeeded', { id: endedRun, step: 'a', item: 0 }),
          await job('succeeded', { id: endedRun, step: 'a', item: 1 }),
        ]
        const strayOfEndedRun = await job('queued', { id: endedRun, step: 'a', item: 2 })
        const liveRun = await run('running')
        const liveRunJob = await job('succeeded', { id: liveRun, step: 'a' })
        for (const tick of [1, 2]) await store.claimTick('hana', 's', tick, Date.now())
        await store.settleTick('hana', 's', 1, { state: 'started', runId: endedRun })
        await store.addDelivery({
          webhookId: 'wh_1',
          messageId: 'm1',
          eventType: 'job.succeeded',
          attempt: 1,
          status: 200,
          error: undefined,
          durationMs: 3,
          created: Date.now(),
        })
        // Now: a newer ended job and run.
        t.mock.timers.tick(10 * DAY)
        const newEnded = await job('succeeded')
        const newRun = await run('succeeded')
        await store.addDelivery({
          webhookId: 'wh_1',
          messageId: 'm2',
          eventType: 'job.succeeded',
          attempt: 1,
          status: 500,
          error: undefined,
          durationMs: 3,
          created: Date.now(),
        })
        const eventsBefore = await store.jobEvents({ after: 0, limit: 1000 })

        // Ended five days ago at the latest, two of each kind a call.
        const before = Date.now() - 5 * DAY
        const totals = await pruneAll(store, before, 2)
        assert.deepEqual(totals.runs, 1)
        assert.deepEqual(totals.jobs, 5, 'three plain jobs and the ended run two')
        assert.equal(totals.ticks, 1, 'the handled tick; the claimed one stays')
        assert.equal(totals.deliveries, 1)

        for (const id of [...oldEnded, ...endedRunJobs]) {
          assert.equal(await store.jobById(id), undefined, `${id} is gone`)
        }
        assert.equal(await store.runById(endedRun), undefined)
        for (const id of [oldRunning, strayOfEndedRun, liveRunJob, newEnded]) {
          assert.ok(await store.jobById(id), `${id} stays`)
        }
        assert.ok(await store.runById(liveRun))
        assert.ok(await store.runById(newRun))
        assert.deepEqual(
          (await store.stepJobs(liveRun, 'a', 0)).map((j) => j.id),
          [liveRunJob],
          "a live run's ended job stays for it",
        )
        const gone = new Set([...oldEnded, ...endedRunJobs, endedRun])
        const eventsAfter = await store.jobEvents({ after: 0, limit: 1000 })
        assert.deepEqual(
          eventsAfter.map((e) => e.id),
          eventsBefore.filter((e) => !gone.has(e.jobId)).map((e) => e.id),
          'the events of what was deleted, and only those',
        )
        assert.equal(totals.events, eventsBefore.length - eventsAfter.length)
        assert.deepEqual(
          (await store.recentTicks('hana', 's', 10)).map((tick) => tick.tick),
          [2],
        )
        assert.deepEqual(
          (await store.listDeliveries('wh_1', { limit: 10 })).map((d) => d.messageId),
          ['m2'],
        )
      } finally {
        await store.close()
        t.mock.timers.reset()
      }
    })
  })
}

interface RunRef {
  id: string
  step: string
  item?: number
}

type JobEnd = 'succeeded' | 'running' | 'queued'

async function makeJob(store: Store, state: JobEnd, run?: RunRef): Promise<string> {
  const { job } = await store.createJob({
    id: newJobId(),
    clientId: 'hana',
    type: 'compress',
    input: 'in',
    output: 'out',
    params: {},
    ...(run ? { run: { ...run, item: run.item ?? 0 } } : {}),
  })
  if (state === 'queued') return job.id
  const running = await store.updateJob(job.id, job.version, { state: 'running' })
  if (state === 'succeeded') {
    await store.updateJob(job.id, running!.version, { state: 'succeeded', result: {} })
  }
  return job.id
}

async function makeRun(store: Store, state: 'succeeded' | 'running'): Promise<string> {
  const { run } = await store.createRun({
    id: newRunId(),
    clientId: 'hana',
    pipeline: 'p',
    pipelineVersion: 1,
    definition: { steps: {} },
    inputs: ['in'],
    steps: {},
  })
  const running = await store.updateRun(run.id, run.version, { state: 'running' }, [
    { step: 'a', state: 'running' },
  ])
  if (state === 'succeeded') await store.updateRun(run.id, running!.version, { state: 'succeeded' })
  return run.id
}

/** `pruneHistory` called until it deletes nothing, each call within `limit` a kind; the sums. */
async function pruneAll(store: Store, before: number, limit: number): Promise<PrunedHistory> {
  const totals: PrunedHistory = { runs: 0, jobs: 0, events: 0, ticks: 0, deliveries: 0 }
  for (let calls = 1; ; calls++) {
    const pruned = await store.pruneHistory(before, limit)
    for (const [k, n] of Object.entries(pruned) as [keyof PrunedHistory, number][]) {
      assert.ok(k === 'events' || n <= limit, `${k}: ${n} in one call of limit ${limit}`)
      totals[k] += n
    }
    if (Object.values(pruned).every((n) => n === 0)) return totals
    assert.ok(calls < 10, 'the calls come to an end')
  }
}
