/** Jobs: requests, the outbox, the task handlers that fan out and join, and live events. */
export { JobError, type JobErrorCode } from './errors.ts'
export { type EventQuery, type EventSubscription, JobEventFeed } from './event-feed.ts'
export { eventJson } from './event-json.ts'
export { errorFromDeadLetter, isPermanentFailure } from './failures.ts'
export { isJobId, newJobId } from './job-id.ts'
export {
  checkOutput,
  JOB_REQUEST,
  type JobRequest,
  MAX_JOB_INPUTS,
  parseJobRequest,
} from './job-request.ts'
export {
  DEFAULT_MAX_OUTPUT_BYTES,
  type JobEndListener,
  JobRunner,
  type JobRunnerOptions,
} from './job-runner.ts'
export { JobService, type JobServiceOptions, type NewJobItem } from './job-service.ts'
export { isTerminal } from './job-state.ts'
export {
  BUILT_IN_KINDS,
  type JobKind,
  jobInputs,
  KindRegistry,
} from './kinds/index.ts'
export { publishOrLeave } from './outbox.ts'
export { PeriodicSweep } from './periodic-sweep.ts'
export {
  decodeTask,
  encodeTask,
  kindOfTaskTopic,
  LEGACY_TASK_TOPIC,
  shardOfTopic,
  type Task,
  taskKey,
  taskTopic,
  WORKER_GROUP,
} from './tasks.ts'
