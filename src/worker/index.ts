/** The worker runtime: pulls tasks, runs them, extends leases, retries and dead-letters. */

export { type JobWorkersOptions, jobWorkers, topicWorkers } from './job-workers.ts'
export { type RunWorkersOptions, runWorkers } from './run-workers.ts'
export { ShardWatcher, type ShardWatcherOptions } from './shard-watcher.ts'
export { WorkerRuntime, type WorkerRuntimeOptions } from './worker-runtime.ts'
