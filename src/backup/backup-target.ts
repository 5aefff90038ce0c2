import { resolve } from 'node:path'
import { localPath } from '../config/index.ts'
import { BackupError } from './errors.ts'

/**
 * Refuses a backup target that is the live blob store (or a folder inside a live `file:` store):
 * the live store's garbage collector would take the backup's objects for orphans and delete them,
 * and a backup lost with the store it backs up is no backup.
 */
export function checkBackupTarget(liveUrl: string, targetUrl: string): void {
  const local = (url: string) => (url.startsWith('file:') ? resolve(localPath(url)) : undefined)
  const live = local(liveUrl)
  const target = local(targetUrl)
  const same =
    live !== undefined && target !== undefined
      ? target === live || target.startsWith(`${live}/`) || live.startsWith(`${target}/`)
      : liveUrl.replace(/\/+$/, '') === targetUrl.replace(/\/+$/, '')
  if (same) {
    throw new BackupError(
      'E_BACKUP_TARGET',
      `backups must go to another blob store than the live one (${liveUrl}); got ${targetUrl}`,
    )
  }
}
