/** Schedules: pipeline runs started at the ticks of cron expressions, once each across processes. */
export { ScheduleError, type ScheduleErrorCode } from './errors.ts'
export { nextTickAfter, parseSchedule, type ScheduleDefinition } from './schedule-definition.ts'
export { ScheduleService, type ScheduleView } from './schedule-service.ts'
export { type PassSummary, Scheduler, type SchedulerOptions } from './scheduler.ts'
