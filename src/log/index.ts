/** Piper's storage engine: a segmented append-only log with an in-memory index and snapshots. */
export { isAlive, lockDir } from './dir-lock.ts'
export { isDiskFull } from './disk-errors.ts'
export { readTextIfExists, syncDirectory, writeFileDurably } from './durable-file.ts'
export { LogError, type LogErrorCode } from './errors.ts'
export { type FsyncPolicy, formatFsyncPolicy, parseFsyncPolicy } from './fsync-policy.ts'
export { type AppendOptions, Log, type LogOptions } from './log.ts'
export { decodeRecord, encodeRecord, type LogRecord, MAX_RECORD_BYTES } from './record.ts'
