import type { DumpLine } from './sql-dump.ts'

/**
 * The metadata dump port, for backups: every row Piper keeps, as of one moment, written out
 * line by line while the store goes on serving; and such a dump loaded into an empty store.
 * Split from `MetaStore`; the SQL adapters implement it in `sql-dump.ts`.
 */
export interface MetaDumps {
  /** Streams a consistent dump to `sink` (awaited line by line); the rows per table. */
  dump(sink: (line: DumpLine) => Promise<void> | void): Promise<Record<string, number>>
  /** Whether a dump can be loaded here: no files, jobs, runs, pipelines, keys or uploads yet. */
  empty(): Promise<boolean>
  /** Loads a dump into this (empty) store, all or nothing; the rows per table. */
  load(
    lines: AsyncIterable<DumpLine>,
    options: { restoredFrom: string },
  ): Promise<Record<string, number>>
}
