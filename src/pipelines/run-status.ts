import type { KindRegistry } from '../jobs/index.ts'
import type { RunRecord, RunState } from '../meta/index.ts'
import {
  leafSteps,
  type PipelineDefinition,
  RUN_INPUT,
  type StepDefinition,
  stepOrder,
} from './definition.ts'
import type { JobsByStep, StepJobs } from './run-jobs.ts'

export type StepState = 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped'

/** A step as a run's status shows it. */
export interface StepStatus {
  state: StepState
  /** Items it runs (known once its parents are done): one per input, or one for a joining kind. */
  items: number
  done: number
  failed: number
  /** Its succeeded items' output names, in item order (built when first read). */
  readonly outputs: readonly string[]
  /** Its jobs, by item (built when read). */
  readonly jobs: string[]
  /** The first failed item's error. */
  error?: { code: string; message: string }
  /** The inputs of an item (what the engine creates its job from). */
  itemInputs: (item: number) => string[]
}

export interface RunStatus {
  /** What the run's state should be, from its steps (never `queued` or `cancelled`). */
  state: Exclude<RunState, 'queued' | 'cancelled'>
  steps: Record<string, StepStatus>
  /** The leaf steps' outputs: what the run produced (built when read). */
  readonly outputs: Record<string, readonly string[]>
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
 * `byStep` holds its jobs by step and item (`jobsByStep`).
 */
export function runStatus(run: RunRecord, byStep: JobsByStep, kinds: KindRegistry): RunStatus {
  const definition = run.definition as unknown as PipelineDefinition
  const steps: Record<string, StepStatus> = {}
  let failure: RunStatus['failure']
  for (const name of stepOrder(definition)) {
    const step = definition.steps[name]!
    const status = stepStatus(step, run, byStep.get(name), steps, definition, kinds)
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
  // A run fails as soon as a `fail` step has failed: it does not wait for other branches.
  const state = failure ? 'failed' : settled ? 'succeeded' : 'running'
  return {
    state,
    steps,
    get outputs() {
      return Object.fromEntries(leafSteps(definition).map((leaf) => [leaf, steps[leaf]!.outputs]))
    },
    ...(failure ? { failure } : {}),
  }
}

function stepStatus(
  step: StepDefinition,
  run: RunRecord,
  jobs: StepJobs | undefined,
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
    itemInputs: () => [],
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
  // One parent's outputs are read as they are: a fan-out of 100 000 items is not copied per look.
  const inputs: readonly string[] =
    step.use.length === 1
      ? inputsOf(step.use[0]!, run, settled)
      : step.use.flatMap((p) => inputsOf(p, run, settled))
  if (inputs.length === 0) return empty('skipped')
  const joins = kinds.get(step.kind).inputs === 'many'
  const items = joins ? 1 : inputs.length
  const error = jobs?.firstError
  return {
    state: stateOfStep(step, items, jobs),
    items,
    done: jobs?.done ?? 0,
    failed: jobs?.failed ?? 0,
    // Built when read (by a child step, the API, a run's end), not at each advance.
    get outputs() {
      return jobs?.outputs() ?? []
    },
    get jobs() {
      return jobs ? [...jobs].map((job) => job.id) : []
    },
    ...(error ? { error } : {}),
    itemInputs: joins ? () => [...inputs] : (item: number) => [inputs[item]!],
  }
}

/**
 * Under `fail` the first failed item fails the step (and the run) at once; otherwise the step
 * waits for all its items, so its children see every one that succeeded.
 */
function stateOfStep(step: StepDefinition, items: number, jobs?: StepJobs): StepState {
  const failed = (jobs?.failed ?? 0) > 0
  if (jobs?.ended === items) return failed ? 'failed' : 'succeeded'
  return failed && step.on_failure === 'fail' ? 'failed' : 'running'
}

function inputsOf(
  use: string,
  run: RunRecord,
  settled: Record<string, StepStatus>,
): readonly string[] {
  return use === RUN_INPUT ? run.inputs : settled[use]!.outputs
}
