/** errno codes that mean "no room": the disk is full, a quota or a file-size limit is reached. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/** Whether `error` (or what caused it) says the storage has no room left. */
export function isDiskFull(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '')) return true
    // SQLite's SQLITE_FULL (13): "database or disk is full".
    if ((e as { errcode?: number }).errcode === 13) return true
  }
  return false
}
