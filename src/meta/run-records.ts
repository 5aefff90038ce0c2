import type { JobState } from './records.ts'

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
  version: number
  created: number
  updated: number
}

export type NewRun = Pick<
  RunRecord,
  'id' | 'clientId' | 'pipeline' | 'pipelineVersion' | 'definition' | 'inputs' | 'steps'
> & { idempotencyKey?: string }

export type RunPatch = Partial<Pick<RunRecord, 'state' | 'steps' | 'result' | 'error'>>
