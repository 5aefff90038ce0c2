/** Composition: Piper's parts wired together once, for the commands and the tests. */
export { type JobSystem, type JobSystemOptions, jobSystem } from './job-system.ts'
