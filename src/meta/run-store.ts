import type { JobRecord, RecordPage } from './records.ts'
import type { NewRun, PipelineRecord, RunJob, RunPatch, RunRecord } from './run-records.ts'

/**
 * The pipelines port: named, versioned pipeline definitions and their runs. Split from
 * `MetaStore` (files and jobs); the SQL adapters implement both on one database, so a run's
 * jobs and the run itself can be read consistently.
 */
export interface RunStore {
  /** Stores a new version of the pipeline (1 for a new name, or after a delete: the next). */
  savePipeline(clientId: string, name: string, definition: object): Promise<PipelineRecord>
  /** The newest version (or the one asked for) unless the pipeline was deleted. */
  pipeline(clientId: string, name: string, version?: number): Promise<PipelineRecord | undefined>
  /** The newest version of each pipeline, by name. */
  listPipelines(
    clientId: string,
    options: { after?: string; limit: number },
  ): Promise<PipelineRecord[]>
  /** Deletes every version (runs keep their copies); false when there was none. */
  deletePipeline(clientId: string, name: string): Promise<boolean>

  /** Creates the run, or returns the client's run with the same idempotency key. */
  createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }>
  getRun(clientId: string, id: string): Promise<RunRecord | undefined>
  runById(id: string): Promise<RunRecord | undefined>
  listRuns(clientId: string, page: RecordPage): Promise<RunRecord[]>
  /**
   * Compare-and-set at `version`; a state change records a `state` event, and each step named in
   * `stepEvents` a `step` event, in the same transaction.
   */
  updateRun(
    id: string,
    version: number,
    patch: RunPatch,
    stepEvents?: Record<string, unknown>[],
  ): Promise<RunRecord | undefined>
  /** The run's jobs by step and item. */
  runJobs(runId: string): Promise<JobRecord[]>
  /** What a status reads of a step's jobs from item `fromItem` on, by item. */
  stepJobs(runId: string, step: string, fromItem: number): Promise<RunJob[]>
  /** Of the jobs named, those that have ended (any order; an unknown id is left out). */
  endedJobs(ids: readonly string[]): Promise<RunJob[]>
  /** Runs whose first advance may not be on the queue (created before `before`, unmarked). */
  unpublishedRuns(before: number, limit: number): Promise<RunRecord[]>
  markRunPublished(id: string): Promise<void>
  /** Queued or running runs not changed since `before`, for the sweep that advances them. */
  idleRuns(before: number, limit: number): Promise<RunRecord[]>
}
