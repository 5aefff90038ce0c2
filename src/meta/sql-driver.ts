/** A row as the database returns it; mapped to records in `sql-meta-store.ts`. */
export type Row = Record<string, unknown>

export type SqlParam = string | number | null | Uint8Array

/** The statements `SqlMetaStore` runs, with `$1`-style parameters in either dialect. */
export interface SqlExecutor {
  all(sql: string, params?: readonly SqlParam[]): Promise<Row[]>
  /** Runs a statement; the number of rows it changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>
}

/**
 * What separates SQLite from PostgreSQL for Piper: a connection, transactions, a lock per key
 * across processes, and the column types of the migrations.
 */
export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres'
  open(): Promise<void>
  /** Runs `fn` in one transaction; commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  /**
   * Inside a transaction, waits for and holds until its end a lock on `key`, for writes that
   * a concurrent transaction could otherwise interleave with (no-op where transactions are serial).
   */
  lockInTransaction(tx: SqlExecutor, key: string): Promise<void>
  close(): Promise<void>
}
