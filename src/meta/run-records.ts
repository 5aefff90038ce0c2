import type { JobRecord, JobState } from './records.ts'

/** One stored version of a client's named pipeline. */
export interface PipelineRecord {
  clientId: string
  name: string
  version: number
  /** The validated definition (`{steps}`), as the pipelines module wrote it. */
  definition: Record<string, unknown>
  created: number
}

/** A run's states are a job's. */
export type RunState = JobState

/** A step of a run as recorded with it (the full status is derived from the run's jobs). */
export interface StepSummary {
  state: string
  items: number
  done: number
  failed: number
}

/** A run of a pipeline version on some inputs, changed only by compare-and-set on `version`. */
export interface RunRecord {
  id: string
  clientId: string
  pipeline: string
  pipelineVersion: number
  /** A copy of the definition it runs: editing the pipeline changes no run. */
  definition: Record<string, unknown>
  inputs: string[]
  state: RunState
  /** Each step as last recorded: its state (`waiting`, `running`, …) and item counts. */
  steps: Record<string, StepSummary>
  result: Record<string, unknown> | null
  error: { code: string; message: string } | null
  idempotencyKey: string | null
  published: boolean
  /**
   * How many times one of its ended jobs was retried. An ended job changes only by a retry, so
   * what an advance remembers of the run's ended jobs holds while this stays the same.
   */
  retries: number
  version: number
  created: number
  updated: number
}

/**
 * What a run's status reads of one of its jobs; `result` keeps only its `outputs` (the files a
 * kind writing many wrote) and `counts`.
 */
export type RunJob = Pick<
  JobRecord,
  'id' | 'step' | 'item' | 'state' | 'output' | 'result' | 'error'
>

export type NewRun = Pick<
  RunRecord,
  'id' | 'clientId' | 'pipeline' | 'pipelineVersion' | 'definition' | 'inputs' | 'steps'
> & { idempotencyKey?: string }

export type RunPatch = Partial<Pick<RunRecord, 'state' | 'steps' | 'result' | 'error'>>
