import { mkdirSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { isDiskFull } from '../log/index.ts'
import { MetaError } from './errors.ts'
import { KeyedMutex } from './keyed-mutex.ts'
import type {
  Row,
  SqlCalls,
  SqlDriver,
  SqlExecutor,
  SqlParam,
  TransactionOptions,
} from './sql-driver.ts'

/**
 * SQLite through `node:sqlite`, one connection per process. Its calls are synchronous, so
 * transactions (which await between statements) are serialised by a queue: no other statement
 * can run inside an open transaction. WAL journaling; a commit is durable before it returns
 * (unless the transaction asks for `durable: false`) through a group commit of the log (see
 * `#synced`); `busy_timeout` waits out another process's write (e.g. `piper keys`).
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite'
  readonly path: string
  #db: DatabaseSync | undefined
  readonly #statements = new Map<string, StatementSync>()
  #queue: Promise<unknown> = Promise.resolve()
  readonly #locks = new KeyedMutex()
  /** Syncs of the log so far: fewer than the durable commits when they share them. */
  logSyncs = 0
  /** The WAL file, kept open for `#syncLog`. */
  #wal: FileHandle | undefined
  #syncing: Promise<void> | undefined
  #nextSync: Promise<void> | undefined
  readonly calls: SqlCalls = { statements: 0, commits: 0 }
  readonly #direct: SqlExecutor = {
    all: async (sql, params = []) => {
      this.calls.statements++
      return this.#statement(sql).all(...params) as Row[]
    },
    run: async (sql, params = []) => {
      this.calls.statements++
      return Number(this.#statement(sql).run(...params).changes)
    },
  }

  constructor(path: string) {
    this.path = path
  }

  async open(): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true })
      const db = new DatabaseSync(this.path, { timeout: 10_000 })
      db.exec('PRAGMA journal_mode = WAL')
      // Commits do not sync the log themselves; a durable one waits for `#synced()` (below).
      db.exec('PRAGMA synchronous = NORMAL')
      // A checkpoint every 4 000 pages of log (16 MiB; SQLite's default is 1 000): the pages a
      // run's commits rewrite again and again (the tails of jobs, events and their indexes) are
      // copied into the database once per checkpoint, so fewer checkpoints copy fewer pages.
      // Commits went 59 → 44 µs on average under the pipelines bench (docs/performance.md).
      db.exec('PRAGMA wal_autocheckpoint = 4000')
      db.exec('PRAGMA foreign_keys = ON')
      this.#db = db
    } catch (error) {
      throw new MetaError(
        'E_META_UNAVAILABLE',
        `cannot open SQLite database ${this.path}: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  all(sql: string, params?: readonly SqlParam[]): Promise<Row[]> {
    return this.#serial(() => this.#direct.all(sql, params))
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    const changes = await this.#serial(() => this.#direct.run(sql, params))
    this.calls.commits++
    // A write outside a transaction commits at once, and is as durable as a transaction's.
    if (changes > 0) await this.#synced()
    return changes
  }

  async transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const result = await this.#serial(async () => {
      const db = this.#open()
      db.exec('BEGIN IMMEDIATE')
      try {
        const value = await fn(this.#direct)
        db.exec('COMMIT')
        this.calls.statements += 2
        this.calls.commits++
        return value
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK')
        throw error
      }
    })
    if (options.durable !== false) await this.#synced()
    return result
  }

  /**
   * Group commit: resolves once the log holds, on the disk, every commit made before the call.
   * One `fdatasync` of the WAL file, on libuv's threads rather than this one, serves every
   * commit waiting for it; a commit made while one runs waits for the next. (SQLite syncs the
   * log itself before each checkpoint copies it into the database.) `synchronous = FULL` did
   * the same with one sync per commit, on this thread, each blocking every other statement.
   * A read may see a commit whose sync is still running; whatever is made durable on the strength
   * of it comes later in the same log, so its own sync covers the commit too.
   */
  #synced(): Promise<void> {
    if (!this.#syncing) {
      this.#syncing = this.#syncLog().finally(() => {
        this.#syncing = undefined
      })
      return this.#syncing
    }
    this.#nextSync ??= this.#syncing
      .catch(() => {})
      .then(() => {
        this.#nextSync = undefined
        return this.#synced()
      })
    return this.#nextSync
  }

  async #syncLog(): Promise<void> {
    try {
      this.#wal ??= await open(`${this.path}-wal`, 'r+')
      await this.#wal.datasync()
      this.logSyncs++
    } catch (error) {
      await this.#wal?.close().catch(() => {})
      this.#wal = undefined
      if (isDiskFull(error)) {
        throw new MetaError('E_STORAGE_FULL', `the disk of ${this.path} is full`, { cause: error })
      }
      throw new MetaError(
        'E_META_UNAVAILABLE',
        `cannot sync the log of ${this.path}: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  /** In-process only: the embedded deployment has one process that writes chunks. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(key, fn)
  }

  /** SQLite transactions are serial already (`BEGIN IMMEDIATE` and the queue). */
  async lockInTransaction(): Promise<void> {}

  /**
   * A second, read-only connection: in WAL mode a read transaction sees the database as of its
   * first read while this connection (or another process) keeps writing.
   */
  async snapshot<T>(fn: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    this.#open()
    const db = new DatabaseSync(this.path, { readOnly: true, timeout: 10_000 })
    try {
      db.exec('BEGIN')
      const reader: SqlExecutor = {
        all: async (sql, params = []) =>
          db.prepare(sql.replace(/\$(\d+)/g, '?$1')).all(...params) as Row[],
        run: async () => {
          throw new MetaError('E_META_UNAVAILABLE', 'a snapshot is read-only')
        },
      }
      const result = await fn(reader)
      db.exec('COMMIT')
      return result
    } finally {
      db.close()
    }
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => {})
    await this.#nextSync?.catch(() => {})
    await this.#syncing?.catch(() => {})
    await this.#wal?.close().catch(() => {})
    this.#wal = undefined
    this.#statements.clear()
    if (this.#db?.isOpen) this.#db.close()
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(fn, fn).catch((error: unknown) => {
      // The transaction was rolled back: nothing of it is visible. Say why in a stable code.
      if (isDiskFull(error)) {
        throw new MetaError('E_STORAGE_FULL', `the disk of ${this.path} is full`, { cause: error })
      }
      throw error
    })
    this.#queue = result.catch(() => {})
    return result
  }

  #open(): DatabaseSync {
    if (!this.#db?.isOpen)
      throw new MetaError('E_META_UNAVAILABLE', 'the SQLite database is closed')
    return this.#db
  }

  /** Statements prepared and kept for their next use (at most `MAX_PREPARED`). */
  get preparedStatements(): number {
    return this.#statements.size
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (!statement) {
      // Both dialects are written with PostgreSQL's `$1`; SQLite's numbered form is `?1`.
      statement = this.#open().prepare(sql.replace(/\$(\d+)/g, '?$1'))
      this.#statements.set(sql, statement)
      // A text built for one call (a near-image search inlines its probe values) would
      // otherwise be kept for the life of the process: the oldest kept goes.
      if (this.#statements.size > MAX_PREPARED) {
        this.#statements.delete(this.#statements.keys().next().value!)
      }
    }
    return statement
  }
}

/** Statements the driver keeps prepared at most (as PostgreSQL's driver, `MAX_PREPARED`). */
const MAX_PREPARED = 1024
