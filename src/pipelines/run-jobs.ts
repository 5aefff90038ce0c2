import { isTerminal, type KindRegistry } from '../jobs/index.ts'
import type { RunJob, RunRecord, RunStore } from '../meta/index.ts'
import type { PipelineDefinition } from './definition.ts'

/** What a step's kind writes, so what its succeeded jobs' outputs are (`StepJobs.outputs`). */
export type OutputKind = 'file' | 'files' | 'none'

/** A run's jobs by step (`runStatus` reads them). */
export type JobsByStep = ReadonlyMap<string, StepJobs>

/**
 * The jobs of one step by item, with its counts kept as jobs are set, so a status of a step of
 * 100 000 items costs no walk over them: each advance of a large run used to walk every item.
 */
export class StepJobs {
  readonly #output: OutputKind
  readonly #jobs: (RunJob | undefined)[] = []
  #ended = 0
  #done = 0
  #failed = 0
  /** The lowest item that failed (or was cancelled), if any. */
  #firstFailed: number | undefined
  /** `outputs()` as last built, until a job changes. */
  #outputs: string[] | undefined
  /** The first item with no job: every item before it has one (jobs are never taken out). */
  #firstMissing = 0
  #size = 0

  constructor(output: OutputKind) {
    this.#output = output
  }

  /** Jobs that have ended, succeeded, and failed or were cancelled. */
  get ended(): number {
    return this.#ended
  }
  get done(): number {
    return this.#done
  }
  get failed(): number {
    return this.#failed
  }
  at(item: number): RunJob | undefined {
    return this.#jobs[item]
  }

  /** Jobs known. */
  get size(): number {
    return this.#size
  }

  /** The first item with no job known (jobs are created in item order: new ones come here). */
  get firstMissing(): number {
    return this.#firstMissing
  }

  /** The first failed item's error (a cancelled job's is said). */
  get firstError(): { code: string; message: string } | undefined {
    if (this.#firstFailed === undefined) return undefined
    const job = this.#jobs[this.#firstFailed]!
    return job.error ?? { code: 'E_JOB_CANCELLED', message: `job ${job.id} was cancelled` }
  }

  /** Records the job of its item, replacing the one known before. */
  set(job: RunJob): void {
    const item = job.item ?? 0
    const was = this.#jobs[item]
    if (was) this.#count(was, -1)
    else this.#size++
    this.#jobs[item] = job
    this.#count(job, 1)
    while (this.#jobs[this.#firstMissing] !== undefined) this.#firstMissing++
    if (failedState(job)) {
      if (this.#firstFailed === undefined || item < this.#firstFailed) this.#firstFailed = item
    } else if (item === this.#firstFailed) {
      const next = this.#jobs.findIndex((j) => j !== undefined && failedState(j))
      this.#firstFailed = next < 0 ? undefined : next
    }
    this.#outputs = undefined
  }

  /** Its jobs in item order. */
  *[Symbol.iterator](): Iterator<RunJob> {
    for (const job of this.#jobs) if (job) yield job
  }

  /** The files its succeeded jobs wrote, in item order (the same array until a job changes). */
  outputs(): readonly string[] {
    if (this.#outputs) return this.#outputs
    const out: string[] = []
    for (const job of this.#jobs) {
      if (job?.state !== 'succeeded') continue
      if (this.#output === 'file') out.push(job.output)
      else if (this.#output === 'files')
        out.push(...((job.result?.outputs as string[] | undefined) ?? []))
    }
    this.#outputs = out
    return out
  }

  #count(job: RunJob, by: 1 | -1): void {
    if (!isTerminal(job.state)) return
    this.#ended += by
    if (job.state === 'succeeded') this.#done += by
    else this.#failed += by
  }
}

function failedState(job: RunJob): boolean {
  return isTerminal(job.state) && job.state !== 'succeeded'
}

/** What each step of the run writes, by its kind. */
export function outputKinds(run: RunRecord, kinds: KindRegistry): (step: string) => OutputKind {
  const { steps } = run.definition as unknown as PipelineDefinition
  return (step) => {
    const kind = steps[step]?.kind
    return kind ? kinds.get(kind).output : 'none'
  }
}

/** A run's jobs by step, each step's kind saying what its jobs wrote (`outputKinds`). */
export function jobsByStep(
  jobs: readonly RunJob[],
  outputOf: (step: string) => OutputKind,
): Map<string, StepJobs> {
  const byStep = new Map<string, StepJobs>()
  for (const job of jobs) addTo(byStep, job, outputOf)
  return byStep
}

/** Sets the job in its step's `StepJobs`; false for a job of no step (not a run's). */
function addTo(
  byStep: Map<string, StepJobs>,
  job: RunJob,
  outputOf: (step: string) => OutputKind,
): boolean {
  if (!job.step) return false
  let step = byStep.get(job.step)
  if (!step) {
    step = new StepJobs(outputOf(job.step))
    byStep.set(job.step, step)
  }
  step.set(job)
  return true
}

/**
 * What an advance knows of one run's jobs, kept between its advances in this process so that
 * a pass reads what may have changed rather than every job of the run: a run of 100 000 items
 * read whole at each of its advances spent its time parsing rows it had read before.
 * - An ended job changes only by a retry, which bumps `run.retries`: while that is the same,
 *   the ended jobs known stand. A different count loads the run's jobs afresh (`load`).
 * - A job known unended is read again once it has ended (`RunStore.endedJobs`).
 * - Any process may create a step's jobs: each refresh reads a step's jobs from the first item
 *   it knows no job of (`RunStore.stepJobs`). Jobs are created in item order, so that is where
 *   new ones are (what follows a gap is read again until the gap is filled).
 */
export class RunJobs {
  readonly retries: number
  readonly #outputOf: (step: string) => OutputKind
  readonly #byStep = new Map<string, StepJobs>()
  /** The ids of the jobs known not to have ended. */
  readonly #unended = new Set<string>()

  private constructor(retries: number, outputOf: (step: string) => OutputKind) {
    this.retries = retries
    this.#outputOf = outputOf
  }

  /** Reads every job of the run, step by step. */
  static async load(
    store: RunStore,
    run: RunRecord,
    outputOf: (step: string) => OutputKind,
  ): Promise<RunJobs> {
    const known = new RunJobs(run.retries, outputOf)
    const steps = Object.keys((run.definition as { steps: object }).steps)
    await known.#readNew(store, run.id, steps)
    return known
  }

  get byStep(): JobsByStep {
    return this.#byStep
  }

  /** Jobs known not to have ended (queued or running). */
  get unended(): number {
    return this.#unended.size
  }

  /** Jobs known: what this costs in memory (~250 bytes each). */
  get size(): number {
    let size = 0
    for (const step of this.#byStep.values()) size += step.size
    return size
  }

  has(step: string, item: number): boolean {
    return this.#byStep.get(step)?.at(item) !== undefined
  }

  /** The step's first item with no job known. */
  firstMissing(step: string): number {
    return this.#byStep.get(step)?.firstMissing ?? 0
  }

  /** Reads what changed: the known unended jobs that have ended, and `steps`' new jobs. */
  async refresh(store: RunStore, runId: string, steps: readonly string[]): Promise<void> {
    if (this.#unended.size > 0) this.add(await store.endedJobs([...this.#unended]))
    await this.#readNew(store, runId, steps)
  }

  /** Records jobs as read (or as just created); a job read later replaces one read before. */
  add(jobs: readonly RunJob[]): void {
    for (const job of jobs) {
      if (!addTo(this.#byStep, job, this.#outputOf)) continue
      if (isTerminal(job.state)) this.#unended.delete(job.id)
      else this.#unended.add(job.id)
    }
  }

  async #readNew(store: RunStore, runId: string, steps: readonly string[]): Promise<void> {
    for (const step of steps) {
      this.add(await store.stepJobs(runId, step, this.firstMissing(step)))
    }
  }
}

/**
 * The `RunJobs` of the runs this process advanced last: at most `runs` of them, holding at most
 * `jobs` jobs in all (the run being read is kept whatever its size). A run dropped (or ended)
 * is loaded whole again if it is advanced again.
 */
export class RunJobsCache {
  readonly #runs = new Map<string, RunJobs>()
  readonly #limits: { runs: number; jobs: number }

  constructor(limits: { runs: number; jobs: number }) {
    this.#limits = limits
  }

  /**
   * The run's jobs as of now: when known from an earlier advance at the same `retries`,
   * refreshed (`steps`: those that may have new jobs); loaded whole otherwise.
   */
  async read(
    store: RunStore,
    run: RunRecord,
    steps: readonly string[],
    outputOf: (step: string) => OutputKind,
  ): Promise<RunJobs> {
    let known = this.#runs.get(run.id)
    this.#runs.delete(run.id)
    if (known?.retries === run.retries) await known.refresh(store, run.id, steps)
    else known = await RunJobs.load(store, run, outputOf)
    // Most recently used last: the first in the map is the first dropped.
    this.#runs.set(run.id, known)
    let jobs = 0
    for (const other of this.#runs.values()) jobs += other.size
    for (const [id, other] of this.#runs) {
      if (other === known) break
      if (this.#runs.size <= this.#limits.runs && jobs <= this.#limits.jobs) break
      this.#runs.delete(id)
      jobs -= other.size
    }
    return known
  }

  forget(runId: string): void {
    this.#runs.delete(runId)
  }
}
