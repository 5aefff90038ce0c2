/** Stable codes of backup errors (listed in docs/errors.md). */
export type BackupErrorCode =
  | 'E_BACKUP_NOT_FOUND'
  | 'E_BACKUP_INCOMPLETE'
  | 'E_BACKUP_CORRUPT'
  | 'E_BACKUP_SOURCE'
  | 'E_BACKUP_TARGET'
  | 'E_BACKUP_BUSY'
  | 'E_RESTORE_NOT_EMPTY'

/** A backup, verification, restore or prune that could not be carried out, and why. */
export class BackupError extends Error {
  readonly code: BackupErrorCode

  constructor(code: BackupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BackupError'
    this.code = code
  }
}
