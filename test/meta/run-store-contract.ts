import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import type { MetaStore, RunStore } from '../../src/meta/index.ts'

type Store = MetaStore & RunStore

/** A run of a pipeline of no steps, for the client. */
function newRun(clientId: string) {
  return {
    id: `run_${randomUUID()}`,
    clientId,
    pipeline: 'p',
    pipelineVersion: 1,
    definition: { steps: {} },
    inputs: ['in'],
    steps: {},
  }
}

/** What every `RunStore` adapter must do to let the run engine read only what changed. */
export function runRunStoreContract(
  name: string,
  create: (t: TestContext) => Promise<Store | undefined>,
): void {
  describe(`RunStore contract: ${name}`, () => {
    async function withRun(
      t: TestContext,
      fn: (store: Store, runId: string, jobIds: string[]) => Promise<void>,
    ) {
      const store = await create(t)
      if (!store) return
      try {
        const { run } = await store.createRun(newRun('rosa'))
        assert.equal(run.retries, 0)
        // Step `b`'s items 0–4 and step `c`'s item 0, created out of order.
        const made = await store.createJobs(
          [3, 0, 4, 1, 2, -1].map((item) => ({
            id: randomUUID(),
            clientId: 'rosa',
            type: 'compress',
            input: `in/${item}`,
            output: `out/${item}`,
            params: { level: 'a param a status need not read' },
            idempotencyKey: `k${item}`,
            run: { id: run.id, step: item < 0 ? 'c' : 'b', item: Math.max(item, 0) },
          })),
        )
        await fn(
          store,
          run.id,
          made.map((m) => m.job.id),
        )
      } finally {
        await store.close()
      }
    }

    it("a step's jobs from an item on, by item, with what a status reads of each", (t) =>
      withRun(t, async (store, runId) => {
        const jobs = await store.stepJobs(runId, 'b', 2)
        assert.deepEqual(
          jobs.map((job) => [job.step, job.item, job.output, job.state]),
          [
            ['b', 2, 'out/2', 'queued'],
            ['b', 3, 'out/3', 'queued'],
            ['b', 4, 'out/4', 'queued'],
          ],
        )
        assert.deepEqual(Object.keys(jobs[0]!).sort(), [
          'error',
          'id',
          'item',
          'output',
          'result',
          'state',
          'step',
        ])
        assert.deepEqual(
          (await store.stepJobs(runId, 'c', 0)).map((job) => job.output),
          ['out/-1'],
        )
        assert.deepEqual(await store.stepJobs(runId, 'b', 5), [])
        assert.deepEqual(await store.stepJobs(runId, 'nope', 0), [])
      }))

    it('of the jobs named, those that ended; a result keeps only its outputs and counts', (t) =>
      withRun(t, async (store, _runId, ids) => {
        assert.deepEqual(await store.endedJobs(ids), [])
        const [three, zero, four] = ids
        for (const [id, patch] of [
          [
            three!,
            { state: 'succeeded', result: { outputs: ['x/1'], counts: { face: 2 }, size: 9 } },
          ],
          [four!, { state: 'failed', error: { code: 'E_X', message: 'no' } }],
          [zero!, { state: 'running' }],
        ] as const) {
          const job = (await store.jobById(id))!
          assert.ok(await store.updateJob(id, job.version, patch))
        }
        const ended = await store.endedJobs([...ids, randomUUID()])
        assert.deepEqual(
          ended
            .map((job) => [job.item, job.state, job.result, job.error])
            .sort((a, b) => Number(a[0]) - Number(b[0])),
          [
            [3, 'succeeded', { outputs: ['x/1'], counts: { face: 2 } }, null],
            [4, 'failed', null, { code: 'E_X', message: 'no' }],
          ],
        )
        // More ids than one statement takes.
        const many = [...Array.from({ length: 1200 }, () => randomUUID()), three!]
        assert.deepEqual(
          (await store.endedJobs(many)).map((job) => job.id),
          [three],
        )
      }))

    it("a retried job counts in its run's retries and changes its version", (t) =>
      withRun(t, async (store, runId, ids) => {
        const before = (await store.runById(runId))!
        const job = (await store.jobById(ids[0]!))!
        const failed = await store.updateJob(job.id, job.version, {
          state: 'failed',
          error: { code: 'E_X', message: 'no' },
        })
        assert.ok(await store.retryJob(job.id, failed!.version))
        const after = (await store.runById(runId))!
        assert.equal(after.retries, 1)
        assert.equal(after.version, before.version + 1)
        assert.equal(await store.updateRun(runId, before.version, { state: 'running' }), undefined)
      }))

    it("a client's jobs and runs listed oldest or newest first, page by page, by state", (t) =>
      withRun(t, async (store, runId, ids) => {
        // The fixture's run and its six jobs, and a run of another client's.
        const other = await store.createRun(newRun('sam'))
        const second = await store.createRun(newRun('rosa'))
        const job = (await store.jobById(ids[2]!))!
        await store.updateJob(job.id, job.version, { state: 'running' })
        const oldest = [...ids].sort()
        const newest = [...oldest].reverse()
        // Page by page, `limit` at a time, each page continuing after the last id seen.
        const pages = async <T extends { id: string }>(
          list: (page: { after?: string; limit: number; newest?: boolean }) => Promise<T[]>,
          newestFirst: boolean,
        ) => {
          const seen: string[][] = []
          for (let after: string | undefined; ; ) {
            const page = await list({ limit: 4, newest: newestFirst, ...(after ? { after } : {}) })
            if (page.length === 0) return seen
            seen.push(page.map((item) => item.id))
            after = page.at(-1)!.id
          }
        }
        const listJobs = (page: { after?: string; limit: number; newest?: boolean }) =>
          store.listJobs('rosa', page)
        assert.deepEqual(await pages(listJobs, false), [oldest.slice(0, 4), oldest.slice(4)])
        assert.deepEqual(await pages(listJobs, true), [newest.slice(0, 4), newest.slice(4)])
        assert.deepEqual(
          (await store.listJobs('rosa', { limit: 10, newest: true, state: 'queued' })).map(
            (j) => j.id,
          ),
          newest.filter((id) => id !== job.id),
        )
        assert.deepEqual(
          (await store.listJobs('rosa', { limit: 10, newest: true, state: 'running' })).map(
            (j) => j.id,
          ),
          [job.id],
        )
        const runs = [runId, second.run.id].sort()
        const listRuns = (page: { after?: string; limit: number; newest?: boolean }) =>
          store.listRuns('rosa', page)
        assert.deepEqual(await pages(listRuns, true), [[...runs].reverse()])
        assert.deepEqual(await pages(listRuns, false), [runs])
        assert.deepEqual(
          (await store.listRuns('sam', { limit: 10, newest: true })).map((r) => r.id),
          [other.run.id],
        )
      }))
  })
}
