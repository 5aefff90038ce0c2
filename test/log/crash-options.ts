import type { LogOptions } from '../../src/log/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

/** The log the crash writer appends to and the crash test reopens: small segments, fsync always. */
export function crashLogOptions(dir: string, snapshotEveryMs: number): LogOptions {
  return {
    dir,
    fsync: { kind: 'always' },
    logger: createLogger({ level: 'silent' }),
    segmentBytes: 64 * 1024,
    snapshotEveryMs,
  }
}

/** What the writer appends at offset `n`, so the test can check every record's bytes. */
export function crashPayload(n: number): string {
  return `payload-${n}-`.repeat(1 + (n % 7))
}
