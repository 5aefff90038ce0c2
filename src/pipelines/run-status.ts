import { isTerminal, type KindRegistry } from '../jobs/index.ts'
import type { JobRecord, RunRecord, RunState } from '../meta/index.ts'
import {
  leafSteps,
  type PipelineDefinition,
  RUN_INPUT,
  type StepDefinition,
  stepOrder,
} from './definition.ts'

export type StepState = 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped'

/** A step as a run's status shows it. */
export interface StepStatus {
  state: StepState
  /** Items it runs (known once its parents are done): one per input, or one for a joining kind. */
  items: number
  done: number
  failed: number
  /** Its succeeded items' output names, in item order. */
  outputs: string[]
  /** Its jobs, by item. */
  jobs: string[]
  /** The first failed item's error. */
  error?: { code: string; message: string }
  /** The inputs of each item (what the engine creates jobs from). */
  itemInputs: string[][]
}

export interface RunStatus {
  /** What the run's state should be, from its steps (never `queued` or `cancelled`). */
  state: Exclude<RunState, 'queued' | 'cancelled'>
  steps: Record<string, StepStatus>
  /** The leaf steps' outputs: what the run produced. */
  outputs: Record<string, string[]>
  /** The step whose failure fails the run, with its error. */
  failure?: { step: string; code: string; message: string }
}

/**
 * A run's status, derived from its definition and its jobs alone (nothing else is trusted), so
 * any process, after any crash, computes the same answer. Steps settle parents first:
 * - a step waits until every parent has ended;
 * - it is skipped when a parent was skipped, or failed with `on_failure: ignore` (the branch is
 *   dropped), or failed with `fail` (the run is failing), or left it nothing to read;
 * - otherwise it reads its parents' outputs in `use` order: one item per file, or one item with
 *   all of them for a joining kind (`tar`), and is running until every item's job has ended
 *   (or, under `on_failure: fail`, until one has failed).
 */
export function runStatus(
  run: RunRecord,
  jobs: readonly JobRecord[],
  kinds: KindRegistry,
): RunStatus {
  const definition = run.definition as unknown as PipelineDefinition
  const byStep = new Map<string, JobRecord[]>()
  for (const job of jobs) {
    if (!job.step) continue
    const list = byStep.get(job.step) ?? []
    list[job.item ?? 0] = job
    byStep.set(job.step, list)
  }
  const steps: Record<string, StepStatus> = {}
  let failure: RunStatus['failure']
  for (const name of stepOrder(definition)) {
    const step = definition.steps[name]!
    const status = stepStatus(step, run, byStep.get(name) ?? [], steps, definition, kinds)
    steps[name] = status
    if (status.state === 'failed' && step.on_failure === 'fail' && !failure) {
      failure = {
        step: name,
        code: status.error?.code ?? 'E_JOB_ATTEMPTS',
        message: `step ${name}: ${status.error?.message ?? 'an item failed'}`,
      }
    }
  }
  const settled = Object.values(steps).every((s) => s.state !== 'waiting' && s.state !== 'running')
  const outputs: Record<string, string[]> = {}
  for (const leaf of leafSteps(definition)) outputs[leaf] = steps[leaf]!.outputs
  // A run fails as soon as a `fail` step has failed: it does not wait for other branches.
  const state = failure ? 'failed' : settled ? 'succeeded' : 'running'
  return { state, steps, outputs, ...(failure ? { failure } : {}) }
}

function stepStatus(
  step: StepDefinition,
  run: RunRecord,
  jobs: readonly (JobRecord | undefined)[],
  settled: Record<string, StepStatus>,
  definition: PipelineDefinition,
  kinds: KindRegistry,
): StepStatus {
  const empty = (state: StepState): StepStatus => ({
    state,
    items: 0,
    done: 0,
    failed: 0,
    outputs: [],
    jobs: [],
    itemInputs: [],
  })
  const parents = step.use.filter((p) => p !== RUN_INPUT).map((p) => [p, settled[p]!] as const)
  if (parents.some(([, s]) => s.state === 'waiting' || s.state === 'running')) {
    return empty('waiting')
  }
  const dropped = parents.some(
    ([p, s]) =>
      s.state === 'skipped' ||
      (s.state === 'failed' && definition.steps[p]!.on_failure !== 'continue'),
  )
  if (dropped) return empty('skipped')
  const inputs = step.use.flatMap((p) => (p === RUN_INPUT ? run.inputs : settled[p]!.outputs))
  if (inputs.length === 0) return empty('skipped')
  const kind = kinds.get(step.kind)
  const itemInputs = kind.inputs === 'many' ? [inputs] : inputs.map((input) => [input])
  const status: StepStatus = { ...empty('running'), items: itemInputs.length, itemInputs }
  let ended = 0
  for (let item = 0; item < itemInputs.length; item++) {
    const job = jobs[item]
    if (!job) continue
    status.jobs.push(job.id)
    if (!isTerminal(job.state)) continue
    ended++
    if (job.state === 'succeeded') {
      status.done++
      status.outputs.push(...jobOutputs(job, kind.output))
    } else {
      status.failed++
      status.error ??= job.error ?? {
        code: 'E_JOB_CANCELLED',
        message: `job ${job.id} was cancelled`,
      }
    }
  }
  // Under `fail` the first failed item fails the step (and the run) at once; otherwise the step
  // waits for all its items, so its children see every one that succeeded.
  if (ended === itemInputs.length) status.state = status.failed > 0 ? 'failed' : 'succeeded'
  else if (status.failed > 0 && step.on_failure === 'fail') status.state = 'failed'
  return status
}

/** The files a succeeded job wrote, by what its kind writes. */
function jobOutputs(job: JobRecord, output: 'file' | 'files' | 'none'): string[] {
  if (output === 'file') return [job.output]
  if (output === 'files') return ((job.result?.outputs as string[] | undefined) ?? []).slice()
  return []
}
