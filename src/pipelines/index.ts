/** Pipelines: named DAGs of job kinds, their runs, and the engine that moves runs on. */

export { DeadLetters, type RedriveResult } from './dead-letters.ts'
export {
  expandOutput,
  findCycle,
  leafSteps,
  MAX_SHARDS,
  MAX_STEPS,
  ON_FAILURE,
  type OnFailure,
  PIPELINE_REQUEST,
  type PipelineDefinition,
  parsePipeline,
  RUN_INPUT,
  STEP_REQUEST,
  type StepDefinition,
  stepOrder,
} from './definition.ts'
export { PipelineError, type PipelineErrorCode } from './errors.ts'
export { advanceRunOfJob, refuseRetryInEndedRun } from './job-hooks.ts'
export { PendingAdvances } from './pending-advances.ts'
export { PipelineService } from './pipeline-service.ts'
export { RunEngine, type RunEngineOptions, shardOf } from './run-engine.ts'
export { isRunId, newRunId } from './run-id.ts'
export { type JobsByStep, jobsByStep, type OutputKind, outputKinds, StepJobs } from './run-jobs.ts'
export {
  parseRunRequest,
  RUN_REQUEST,
  type RunRequest,
  RunService,
  type RunServiceOptions,
} from './run-service.ts'
export { type RunStatus, runStatus, type StepState, type StepStatus } from './run-status.ts'
export {
  type AdvanceTask,
  decodeAdvance,
  encodeAdvance,
  queueAdvance,
  RUN_GROUP,
  RUN_TOPIC,
} from './run-tasks.ts'
