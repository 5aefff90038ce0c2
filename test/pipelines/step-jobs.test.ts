import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { isTerminal } from '../../src/jobs/index.ts'
import type { JobState, RunJob } from '../../src/meta/index.ts'
import { StepJobs } from '../../src/pipelines/index.ts'

const STATES: JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled']

/** What the counts must be: the jobs last set for each item, walked from scratch. */
function walked(jobs: Map<number, RunJob>, output: 'file' | 'files') {
  const items = [...jobs.keys()].sort((a, b) => a - b).map((item) => jobs.get(item)!)
  const failed = items.filter((j) => isTerminal(j.state) && j.state !== 'succeeded')
  return {
    ended: items.filter((j) => isTerminal(j.state)).length,
    done: items.filter((j) => j.state === 'succeeded').length,
    failed: failed.length,
    firstError: failed[0]
      ? (failed[0].error ?? {
          code: 'E_JOB_CANCELLED',
          message: `job ${failed[0].id} was cancelled`,
        })
      : undefined,
    outputs: items
      .filter((j) => j.state === 'succeeded')
      .flatMap((j) => (output === 'file' ? [j.output] : (j.result?.outputs as string[]))),
    ids: items.map((j) => j.id),
  }
}

it("a step's counts, first error, outputs and first missing item, kept as jobs are set, are those of its jobs walked afresh", () => {
  const change = fc.record({
    item: fc.nat(30),
    state: fc.constantFrom(...STATES),
    n: fc.nat(3),
  })
  fc.assert(
    fc.property(
      fc.constantFrom('file' as const, 'files' as const),
      fc.array(change, { maxLength: 80 }),
      (output, changes) => {
        const step = new StepJobs(output)
        const truth = new Map<number, RunJob>()
        for (const [i, { item, state, n }] of changes.entries()) {
          const job: RunJob = {
            id: `j${item}`,
            step: 's',
            item,
            state,
            output: `out/${item}.${i}`,
            result: { outputs: Array.from({ length: n }, (_, k) => `out/${item}/${k}`) },
            error:
              state === 'failed' ? { code: 'E_X', message: `item ${item}, change ${i}` } : null,
          }
          step.set(job)
          truth.set(item, job)
          const want = walked(truth, output)
          assert.deepEqual(
            { ended: step.ended, done: step.done, failed: step.failed, error: step.firstError },
            { ended: want.ended, done: want.done, failed: want.failed, error: want.firstError },
          )
          assert.deepEqual(step.outputs(), want.outputs)
          let missing = 0
          while (truth.has(missing)) missing++
          assert.equal(step.firstMissing, missing)
          assert.deepEqual(
            [...step].map((j) => j.id),
            want.ids,
          )
        }
      },
    ),
  )
})
