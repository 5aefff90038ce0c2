/** Schedules: pipeline runs started at the ticks of cron expressions, once each across processes. */
export { ScheduleError, type ScheduleErrorCode } from './errors.ts'
export {
  nextTickAfter,
  parseSchedule,
  SCHEDULE_REQUEST,
  type ScheduleDefinition,
} from './schedule-definition.ts'
export { ScheduleService, type ScheduleView } from './schedule-service.ts'
export {
  type MaintenanceTask,
  type PassSummary,
  Scheduler,
  type SchedulerOptions,
  SYSTEM_CLIENT,
} from './scheduler.ts'
