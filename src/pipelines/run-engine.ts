import { createHash } from 'node:crypto'
import {
  checkOutput,
  isPermanentFailure,
  isTerminal,
  type JobEventFeed,
  type JobRequest,
  type JobService,
  type KindRegistry,
  type NewJobItem,
} from '../jobs/index.ts'
import type {
  MetaStore,
  RunJob,
  RunPatch,
  RunRecord,
  RunStore,
  StepSummary,
} from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { expandOutput, type PipelineDefinition, stepOrder } from './definition.ts'
import { type JobsByStep, outputKinds, type RunJobs, RunJobsCache } from './run-jobs.ts'
import { type RunStatus, runStatus } from './run-status.ts'

export interface RunEngineOptions {
  meta: MetaStore & RunStore
  jobs: JobService
  kinds: KindRegistry
  feed: JobEventFeed
  logger: Logger
  /** Jobs of one run queued or running at once; the rest wait for them (default 256). */
  maxInFlight?: number
  /**
   * What this process keeps of runs' jobs between advances (`RunJobsCache`): at most `runs` runs
   * (default 1 000) and `jobs` jobs in all (default 1 000 000: ~250 MB, ~250 bytes a job).
   */
  known?: { runs?: number; jobs?: number }
}

/**
 * Moves runs on. `advance` reads a run and what changed of its jobs (`RunJobs`), derives every
 * step's state (`runStatus`), creates the jobs of items whose parents are done (at most
 * `maxInFlight` of a run at a time), records step changes as events, and ends the run when its
 * steps have. It is idempotent: jobs are created under a key per (run, step, item), so two
 * advances racing, or one repeated after a crash, create each job once; the run changes only by
 * compare-and-set.
 */
export class RunEngine {
  readonly #o: RunEngineOptions
  readonly #log: Logger
  readonly #maxInFlight: number
  readonly #advancing = new Map<string, Advancing>()
  readonly #known: RunJobsCache

  constructor(options: RunEngineOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'runs' })
    this.#maxInFlight = options.maxInFlight ?? 256
    this.#known = new RunJobsCache({
      runs: options.known?.runs ?? 1000,
      jobs: options.known?.jobs ?? 1_000_000,
    })
  }

  /**
   * Advances the run. Calls for a run already being advanced in this process coalesce: they
   * wait for one more pass that starts after the current one, which sees everything they would
   * have (ten items ending at once cost two passes, not ten).
   */
  advance(runId: string): Promise<void> {
    const busy = this.#advancing.get(runId)
    if (busy) {
      busy.again ??= busy.current.then(
        () => this.#pass(runId, busy),
        () => this.#pass(runId, busy),
      )
      return busy.again
    }
    const entry: Advancing = { current: Promise.resolve(), again: undefined }
    this.#advancing.set(runId, entry)
    entry.current = this.#advanceOnce(runId).finally(() => {
      if (this.#advancing.get(runId) === entry && !entry.again) this.#advancing.delete(runId)
    })
    return entry.current
  }

  /** The follow-up pass of a coalesced advance. */
  #pass(runId: string, entry: Advancing): Promise<void> {
    entry.current = entry.again!
    entry.again = undefined
    return this.#advanceOnce(runId).finally(() => {
      if (this.#advancing.get(runId) === entry && !entry.again) this.#advancing.delete(runId)
    })
  }

  async #advanceOnce(runId: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const run = await this.#o.meta.runById(runId)
      if (!run || isTerminal(run.state)) {
        this.#known.forget(runId)
        return
      }
      const jobs = await this.#known.read(
        this.#o.meta,
        run,
        stepsToRead(run),
        outputKinds(run, this.#o.kinds),
      )
      const status = runStatus(run, jobs.byStep, this.#o.kinds)
      if (status.state !== 'running') {
        if (await this.#end(run, status, jobs)) return
        continue // another advance changed the run: look again
      }
      const failure = await this.#createJobs(run, status, jobs)
      if (failure) {
        if (await this.#end(run, { ...status, state: 'failed', failure }, jobs)) return
        continue
      }
      const steps = stepStates(status)
      const changed = stepEvents(run, steps)
      if (run.state !== 'queued' && changed.length === 0) return
      const patch: RunPatch = { steps, ...(run.state === 'queued' ? { state: 'running' } : {}) }
      if (await this.#o.meta.updateRun(run.id, run.version, patch, changed)) {
        this.#o.feed.notify()
        return
      }
    }
    throw new Error(`run ${runId} kept changing under its advance`)
  }

  /**
   * Creates the missing jobs of running steps, parents first and items in order, while fewer
   * than `maxInFlight` of the run's jobs are queued or running. Up to `CREATE_AT_ONCE` are
   * created together (`JobService.createMany`: one statement or transaction, their publishes
   * at once; each is idempotent by its key, so a crash between them loses nothing). A job that
   * cannot be created (its output name is invalid, a parent's output was deleted) fails the
   * run: the first such reason, in step and item order; none after it is created.
   */
  async #createJobs(
    run: RunRecord,
    status: RunStatus,
    jobs: RunJobs,
  ): Promise<RunStatus['failure']> {
    const definition = run.definition as unknown as PipelineDefinition
    let room = this.#maxInFlight - jobs.unended
    const todo: { name: string; item: number; inputs: string[] }[] = []
    for (const name of stepOrder(definition)) {
      const step = status.steps[name]!
      if (step.state !== 'running') continue
      for (let item = jobs.firstMissing(name); item < step.items && room > 0; item++) {
        if (jobs.has(name, item)) continue
        todo.push({ name, item, inputs: step.itemInputs(item) })
        room--
      }
    }
    const ready: NewJobItem[] = []
    const create = async () => {
      if (ready.length === 0) return
      const made = await this.#o.jobs.createMany(run.clientId, ready.splice(0))
      jobs.add(made.map(({ job }) => job))
    }
    for (const { name, item, inputs } of todo) {
      const made = await this.#newJob(run, name, item, inputs)
      if ('failure' in made) {
        await create()
        return made.failure
      }
      ready.push(made)
      if (ready.length === CREATE_AT_ONCE) await create()
    }
    await create()
    return undefined
  }

  /**
   * One item's job, its inputs checked; a permanent failure (an invalid output name, a missing
   * input) is returned as the run's reason to fail.
   */
  async #newJob(
    run: RunRecord,
    name: string,
    item: number,
    inputs: string[],
  ): Promise<NewJobItem | { failure: RunStatus['failure'] }> {
    try {
      const request = this.#request(run, name, item, inputs)
      await this.#o.jobs.checkInputs(run.clientId, request)
      const shards = (run.definition as unknown as PipelineDefinition).steps[name]!.shards
      return {
        request,
        idempotencyKey: `${run.id}:${name}:${item}`,
        run: {
          id: run.id,
          step: name,
          item,
          ...(shards > 1 ? { shard: shardOf(request.input, shards) } : {}),
        },
      }
    } catch (error) {
      if (!isPermanentFailure(error)) throw error
      const code = (error as { code?: string }).code ?? 'E_JOB_REQUEST'
      const message = `step ${name}, item ${item}: ${(error as Error).message}`
      return { failure: { step: name, code, message } }
    }
  }

  #request(run: RunRecord, name: string, item: number, inputs: string[]): JobRequest {
    const step = (run.definition as unknown as PipelineDefinition).steps[name]!
    const kind = this.#o.kinds.get(step.kind)
    const input = inputs[0]!
    const output = step.output
      ? expandOutput(step.output, { input, run: run.id, step: name, item })
      : kind.defaultOutput(input, step.params)
    return {
      type: step.kind,
      input,
      ...(kind.inputs === 'many' ? { inputs } : {}),
      output: checkOutput(kind, output, `steps.${name}.output`),
      params: step.params,
    }
  }

  /** Ends the run as its status says; cancels what is still running of a failed one. */
  async #end(run: RunRecord, status: RunStatus, jobs: RunJobs): Promise<boolean> {
    const steps = stepStates(status)
    const failed = Object.entries(status.steps)
      .filter(([, s]) => s.state === 'failed')
      .map(([name]) => name)
    const patch: RunPatch = {
      state: status.state as 'succeeded' | 'failed',
      steps,
      result: {
        outputs: status.outputs,
        counts: stepCounts(jobs.byStep),
        failed_steps: failed,
        duration_ms: Date.now() - run.created,
      },
      ...(status.failure
        ? { error: { code: status.failure.code, message: status.failure.message } }
        : {}),
    }
    const ended = await this.#o.meta.updateRun(run.id, run.version, patch, stepEvents(run, steps))
    if (!ended) return false
    this.#known.forget(run.id)
    this.#o.feed.notify()
    this.#log.info({ run: run.id, state: ended.state, failed }, 'run ended')
    if (ended.state === 'failed')
      await this.cancelJobs(
        ended,
        [...jobs.byStep.values()].flatMap((step) => [...step]),
      )
    return true
  }

  /** Cancels the run's jobs that are still queued or running (a failed or cancelled run's). */
  async cancelJobs(run: RunRecord, jobs?: readonly RunJob[]): Promise<void> {
    for (const job of jobs ?? (await this.#o.meta.runJobs(run.id))) {
      if (isTerminal(job.state)) continue
      await this.#o.jobs.cancel(run.clientId, job.id).catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'E_JOB_FINISHED') throw error
      })
    }
  }
}

/**
 * The `counts` of every succeeded job's result (`image.detect`: faces found), summed per step:
 * `{detect: {face: 12}}`. Steps whose jobs count nothing are left out.
 */
export function stepCounts(byStep: JobsByStep): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const [name, jobs] of byStep) {
    for (const job of jobs) {
      const counts = job.result?.counts
      if (job.state !== 'succeeded' || typeof counts !== 'object' || counts === null) continue
      out[name] ??= {}
      const step = out[name]!
      for (const [label, n] of Object.entries(counts)) {
        if (typeof n === 'number') step[label] = (step[label] ?? 0) + n
      }
    }
  }
  return out
}

/**
 * Steps whose new jobs an advance reads: those the run last recorded as running. A settled
 * step's items have all ended (an ended job changes only by a retry, which the cache sees). A
 * waiting step's jobs are not looked for: the only way it has any is an advance elsewhere that
 * created them and died before recording the step as running, and then this advance finds the
 * step's parents done and creates its jobs, which gives back the jobs already made under the
 * same keys. Reading them cost a statement per waiting step at every advance, for nothing.
 */
function stepsToRead(run: RunRecord): string[] {
  return stepOrder(run.definition as unknown as PipelineDefinition).filter((name) => {
    const state = run.steps[name]?.state
    return state === undefined || !(SETTLED.has(state) || state === 'waiting')
  })
}

const SETTLED = new Set(['succeeded', 'failed', 'skipped'])

/** Jobs one advance creates together (see `#createJobs`): one statement or transaction. */
const CREATE_AT_ONCE = 64

/** A run being advanced in this process, and the one pass queued behind it, if any. */
interface Advancing {
  current: Promise<void>
  again: Promise<void> | undefined
}

/**
 * The shard of an item: its input name hashed (sha256, first 32 bits) modulo the step's shards,
 * so the same file always goes to the same work queue, in every run and every process.
 */
export function shardOf(input: string, shards: number): number {
  return createHash('sha256').update(input).digest().readUInt32BE(0) % shards
}

function stepStates(status: RunStatus): Record<string, StepSummary> {
  return Object.fromEntries(
    Object.entries(status.steps).map(([name, s]) => [
      name,
      { state: s.state, items: s.items, done: s.done, failed: s.failed },
    ]),
  )
}

/** A `step` event for each step whose state or counts differ from what the run last recorded. */
function stepEvents(run: RunRecord, steps: Record<string, StepSummary>): Record<string, unknown>[] {
  return Object.entries(steps)
    .filter(([name, now]) => {
      const was = run.steps[name]
      return (
        !was ||
        was.state !== now.state ||
        was.done !== now.done ||
        was.failed !== now.failed ||
        was.items !== now.items
      )
    })
    .map(([name, now]) => ({ step: name, ...now }))
}
