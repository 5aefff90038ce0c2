import type { PiperConfig } from '../config/index.ts'
import type { ChunkScrubber, GarbageCollector } from '../files/index.ts'
import type { MaintenanceTask } from '../schedules/index.ts'
import type { Backups } from './backups.ts'

/**
 * `piper up`'s maintenance as schedules (`PIPER_GC_SCHEDULE`, `PIPER_SCRUB_SCHEDULE`,
 * `PIPER_BACKUP_SCHEDULE`): each tick runs on one process of the cluster. Each `run` starts the
 * work and comes back; a run asked for while the last one goes on joins it.
 */
export function maintenanceTasks(
  config: Pick<PiperConfig, 'gcSchedule' | 'scrubSchedule' | 'backupSchedule'>,
  parts: { gc: GarbageCollector; scrubber: ChunkScrubber; backups?: Backups },
): MaintenanceTask[] {
  const tasks: MaintenanceTask[] = []
  if (config.gcSchedule) {
    tasks.push({ name: 'gc', cron: config.gcSchedule, run: async () => void parts.gc.runOnce() })
  }
  if (config.scrubSchedule) {
    const scrub = async () => void parts.scrubber.runOnce()
    tasks.push({ name: 'scrub', cron: config.scrubSchedule, run: scrub })
  }
  const backups = parts.backups
  if (config.backupSchedule && backups) {
    tasks.push({
      name: 'backup',
      cron: config.backupSchedule,
      run: () => backups.request('schedule'),
    })
  }
  return tasks
}
