/** Jobs: requests, the outbox, the task handlers that fan out and join, and live events. */
export { JobError, type JobErrorCode } from './errors.ts'
export { type EventQuery, type EventSubscription, JobEventFeed } from './event-feed.ts'
export { errorFromDeadLetter, isPermanentFailure } from './failures.ts'
export { isJobId, newJobId } from './job-id.ts'
export {
  defaultOutput,
  JOB_TYPES,
  type JobParams,
  type JobRequest,
  type JobType,
  parseJobRequest,
} from './job-request.ts'
export { DEFAULT_MAX_OUTPUT_BYTES, JobRunner, type JobRunnerOptions } from './job-runner.ts'
export { JobService, type JobServiceOptions } from './job-service.ts'
export { isTerminal } from './job-state.ts'
export {
  decodeTask,
  encodeTask,
  TASK_TOPIC,
  type Task,
  taskKey,
  WORKER_GROUP,
} from './tasks.ts'
