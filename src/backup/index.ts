/** Backups of Piper's metadata and chunks to any blob store: create, list, verify, restore, prune. */
export { type BackupEntry, listBackups, readManifest } from './backup-catalog.ts'
export { type BackupManifest, backupKeys, newBackupId } from './backup-layout.ts'
export { checkBackupTarget } from './backup-target.ts'
export {
  type BackupProgress,
  type CreateBackupOptions,
  createBackup,
  noProgress,
} from './create-backup.ts'
export { BackupError, type BackupErrorCode } from './errors.ts'
export { type PruneResult, pruneBackups } from './prune-backups.ts'
export { type RestoreResult, restoreBackup } from './restore-backup.ts'
export { isoWeek, planRetention, type RetentionPolicy } from './retention.ts'
export { type VerifyResult, verifyBackup } from './verify-backup.ts'
