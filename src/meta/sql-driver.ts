import type { Listener } from './event-signals.ts'

/** A row as the database returns it; mapped to records in `sql-meta-store.ts`. */
export type Row = Record<string, unknown>

export type SqlParam = string | number | null | Uint8Array

/** The statements `SqlMetaStore` runs, with `$1`-style parameters in either dialect. */
export interface SqlExecutor {
  all(sql: string, params?: readonly SqlParam[]): Promise<Row[]>
  /** Runs a statement; the number of rows it changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>
}

export interface TransactionOptions {
  /**
   * `false`: the commit returns before it reaches the disk. A crash of the process loses
   * nothing, but a power loss may lose it; the next durable commit makes it durable too (both
   * engines write one log in order). For rows that matter only once a later durable commit
   * uses them, such as an upload's chunks before the upload commits. Default `true`.
   */
  durable?: boolean
}

/** What a driver has sent its database so far (read by `/metrics`). */
export interface SqlCalls {
  /** Statements run, `BEGIN` and `COMMIT` included: with PostgreSQL each is a round trip. */
  statements: number
  /** Transactions committed, and `run` statements outside one (each commits by itself). */
  commits: number
}

/**
 * What separates SQLite from PostgreSQL for Piper: a connection, transactions, a lock per key
 * across processes, and the column types of the migrations.
 */
export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres'
  readonly calls: SqlCalls
  open(): Promise<void>
  /** Runs `fn` in one transaction; commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  /**
   * Inside a transaction, waits for and holds until its end a lock on `key`, for writes that
   * a concurrent transaction could otherwise interleave with (no-op where transactions are serial).
   */
  lockInTransaction(tx: SqlExecutor, key: string): Promise<void>
  /**
   * Runs `fn` on a read-only view of the whole database as of one moment, on a connection of its
   * own: writers go on meanwhile and `fn` sees none of their commits (a backup's consistent copy).
   */
  snapshot<T>(fn: (reader: SqlExecutor) => Promise<T>): Promise<T>
  /**
   * Where other processes can write: runs `onSignal` at each announcement on `channel` (see
   * `EventSignals`) until the listener closes.
   */
  listen?(channel: string, onSignal: () => void): Listener
  close(): Promise<void>
}
