/** Composition: Piper's parts wired together once, for the commands and the tests. */

export { type BackupStatus, Backups, type BackupsOptions, configuredBackups } from './backups.ts'
export { type Component, type JobSystem, type JobSystemOptions, jobSystem } from './job-system.ts'
export { LeaderTask, type LeaderTaskOptions } from './leader-task.ts'
export { maintenanceTasks } from './maintenance.ts'
export { assembleProcess, type PiperProcess, type Role } from './piper-process.ts'
export { type RepairStatus, StorageRepairs, type StorageRepairsOptions } from './storage-repairs.ts'
