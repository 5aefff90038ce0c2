import { createHash } from 'node:crypto'
import type { ClientConfig, Pool, PoolClient, QueryResult } from 'pg'
import type { Breakers, DependencyBreaker } from '../net/index.ts'
import { MetaError } from './errors.ts'
import type { Listener } from './event-signals.ts'
import { PostgresListener } from './postgres-listener.ts'
import type {
  Row,
  SqlCalls,
  SqlDriver,
  SqlExecutor,
  SqlParam,
  TransactionOptions,
} from './sql-driver.ts'

/** SQLSTATEs after which a transaction is retried: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01'])

/**
 * PostgreSQL through node-postgres (`pg`, loaded only when used). `?schema=NAME` in the URL puts
 * Piper's tables in that schema (created if missing), so deployments can share a database.
 * `withLock` (migrations) takes a session advisory lock on a connection of its own pool;
 * chunk locks are leases (`lease-lock.ts`), which hold no connection while their holder works.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres'
  readonly calls: SqlCalls = { statements: 0, commits: 0 }
  readonly #url: URL
  readonly #schema: string | undefined
  #pool: Pool | undefined
  #lockPool: Pool | undefined
  /** How every connection is made (set by `open`). */
  #config: ClientConfig | undefined
  readonly #breaker: DependencyBreaker | undefined
  /** The advisory locks each open transaction holds (an executor is one transaction's). */
  readonly #held = new WeakMap<SqlExecutor, Set<string>>()

  /**
   * With `breakers`: once PostgreSQL fails to answer five calls in a row, calls fail at once
   * (`E_META_UNAVAILABLE`) rather than each waiting for a connection (up to 10 s) until the
   * breaker lets one try again; `/readyz`'s query is that try.
   */
  constructor(url: string, options: { breakers?: Breakers } = {}) {
    this.#breaker = options.breakers?.of('meta', {
      counts: (error) => error instanceof MetaError && error.code === 'E_META_UNAVAILABLE',
      refused: (message) => new MetaError('E_META_UNAVAILABLE', message),
    })
    this.#url = new URL(url)
    const schema = this.#url.searchParams.get('schema') ?? undefined
    this.#url.searchParams.delete('schema')
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new MetaError('E_META_UNAVAILABLE', `invalid schema name ${JSON.stringify(schema)}`)
    }
    this.#schema = schema
  }

  async open(): Promise<void> {
    const { default: pg } = await import('pg')
    const options = {
      connectionString: this.#url.href,
      options: this.#schema ? `-c search_path=${this.#schema}` : undefined,
      connectionTimeoutMillis: 10_000,
    }
    this.#config = options
    this.#pool = new pg.Pool({ ...options, max: 10 })
    this.#lockPool = new pg.Pool({ ...options, max: 20 })
    // An idle connection that the server drops must not crash the process.
    this.#pool.on('error', () => {})
    this.#lockPool.on('error', () => {})
    try {
      // Concurrent `CREATE … IF NOT EXISTS` can still collide in PostgreSQL: take a lock first.
      await this.transaction(async (tx) => {
        await this.lockInTransaction(tx, 'piper_schema')
        if (this.#schema) await tx.run(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`)
      })
    } catch (error) {
      await this.close()
      const where = `${this.#url.hostname}:${this.#url.port || 5432}${this.#url.pathname}`
      throw new MetaError(
        'E_META_UNAVAILABLE',
        `cannot reach PostgreSQL at ${where}: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  async all(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    this.calls.statements++
    return (await this.#call(() => query(this.#open(), sql, params, false))).rows
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    this.calls.statements++
    this.calls.commits++
    return (await this.#call(() => query(this.#open(), sql, params, false))).rowCount ?? 0
  }

  transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    return this.#call(() => this.#transaction(fn, options))
  }

  /** One call to the database: its errors classified, through the breaker when there is one. */
  #call<T>(call: () => Promise<T>): Promise<T> {
    const classified = async () => {
      try {
        return await call()
      } catch (error) {
        throw this.#classify(error)
      }
    }
    return this.#breaker ? this.#breaker.run(classified) : classified()
  }

  /**
   * Errors that say the database cannot be used now, as the codes callers dispatch on:
   * unreachable, shutting down or out of connections is `E_META_UNAVAILABLE` (503, retry
   * later), a full disk `E_STORAGE_FULL` (507). Anything else (a bug, a constraint) is left
   * as it is.
   */
  #classify(error: unknown): unknown {
    if (error instanceof MetaError) return error
    const code = String((error as { code?: unknown }).code ?? '')
    if (code === '53100') {
      return new MetaError('E_STORAGE_FULL', 'the PostgreSQL disk is full', { cause: error })
    }
    // SQLSTATE classes 08 (connection), 53 (resources), 57P (operator intervention); errno
    // codes of a socket; pg's own words for a pool that timed out or a connection that ended.
    const message = (error as Error).message ?? ''
    if (
      /^(08|53|57P)/.test(code) ||
      /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND)$/.test(code) ||
      /timeout exceeded when trying to connect|Connection terminated|connection ended/i.test(
        message,
      )
    ) {
      const where = `${this.#url.hostname}:${this.#url.port || 5432}`
      return new MetaError(
        'E_META_UNAVAILABLE',
        `PostgreSQL at ${where} is unavailable: ${message}`,
        {
          cause: error,
        },
      )
    }
    return error
  }

  async #transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#open().connect()
      try {
        // An asynchronous commit: a later synchronous one flushes the WAL up to itself. Both
        // statements in one simple query: one round trip, not two.
        await client.query(
          options.durable === false ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN',
        )
        const result = await fn(executor(client, this.calls))
        await client.query('COMMIT')
        this.calls.statements += 2
        this.calls.commits++
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        const code = (error as { code?: string }).code
        const again = (code !== undefined && RETRYABLE.has(code)) || isStalePlan(error)
        if (attempt >= 5 || !again) throw error
      } finally {
        client.release()
      }
    }
  }

  /** A `REPEATABLE READ READ ONLY` transaction: every statement sees its first one's snapshot. */
  async snapshot<T>(fn: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#open().connect()
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const result = await fn(executor(client, this.calls))
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw this.#classify(error)
    } finally {
      client.release()
    }
  }

  async lockInTransaction(tx: SqlExecutor, key: string): Promise<void> {
    // Held until the transaction ends: taking it again in the same one (a second event in one
    // commit) would be a round trip for nothing.
    let held = this.#held.get(tx)
    if (held?.has(key)) return
    await tx.all('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key])
    if (!held) {
      held = new Set()
      this.#held.set(tx, held)
    }
    held.add(key)
  }

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#lockPool) throw new MetaError('E_META_UNAVAILABLE', 'PostgreSQL is not connected')
    const client = await this.#lockPool.connect()
    let broken = false
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key])
      try {
        return await fn()
      } finally {
        await client
          .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
          .catch(() => {
            broken = true
          })
      }
    } finally {
      // A connection whose unlock failed may still hold the lock: destroy it to free the lock.
      client.release(broken)
    }
  }

  /** `LISTEN channel` on a connection of its own until closed (see `PostgresListener`). */
  listen(channel: string, onSignal: () => void): Listener {
    if (!this.#config) throw new MetaError('E_META_UNAVAILABLE', 'PostgreSQL is not connected')
    return new PostgresListener(this.#config, channel, onSignal)
  }

  async close(): Promise<void> {
    const pools = [this.#pool, this.#lockPool]
    this.#pool = undefined
    this.#lockPool = undefined
    await Promise.all(pools.map((p) => p?.end().catch(() => {})))
  }

  #open(): Pool {
    if (!this.#pool) throw new MetaError('E_META_UNAVAILABLE', 'PostgreSQL is not connected')
    return this.#pool
  }
}

function executor(client: PoolClient, calls: SqlCalls): SqlExecutor {
  return {
    all: async (sql, params = []) => {
      calls.statements++
      return (await query(client, sql, params, true)).rows
    },
    run: async (sql, params = []) => {
      calls.statements++
      return (await query(client, sql, params, true)).rowCount ?? 0
    },
  }
}

/** Texts prepared at most: each connection keeps every statement it prepared until it closes. */
const MAX_PREPARED = 1024
/** Names of prepared statements by text; `''` for a text that is not to be prepared. */
const statementNames = new Map<string, string>()
/** Texts run once so far (the newest `MAX_PREPARED`): a text is prepared when it comes again. */
const seenOnce = new Set<string>()

/**
 * Runs a statement with parameters as a named prepared statement: each connection parses and
 * plans it once, then only binds and executes it (per job of the cluster bench, PostgreSQL's
 * CPU fell from ~10 to ~6 ms). Statements without parameters (DDL, BEGIN, COMMIT) go as they
 * are, and so does a text at its first use: one built for a single call (a near-image search
 * inlines its probe values) is never prepared, and no more than `MAX_PREPARED` texts are. A
 * prepared statement whose table has changed shape since (another process migrated it) fails
 * with a stale plan: its text is not prepared again, and the statement is run again at once —
 * or, inside a transaction (aborted by the failure), the transaction is.
 */
async function query(
  target: Pool | PoolClient,
  sql: string,
  params: readonly SqlParam[],
  inTransaction: boolean,
): Promise<QueryResult> {
  const name = params.length === 0 ? '' : statementName(sql)
  if (name === '') return target.query(sql, params as SqlParam[])
  try {
    return await target.query({ name, text: sql, values: params as SqlParam[] })
  } catch (error) {
    if (!isStalePlan(error)) throw error
    statementNames.set(sql, '')
    if (inTransaction) throw error
    return target.query(sql, params as SqlParam[])
  }
}

/** The name to prepare `sql` under, or `''` to run it as it is (see `query`). */
function statementName(sql: string): string {
  const known = statementNames.get(sql)
  if (known !== undefined) return known
  if (statementNames.size < MAX_PREPARED && seenOnce.delete(sql)) {
    const name = `piper_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`
    statementNames.set(sql, name)
    return name
  }
  seenOnce.add(sql)
  if (seenOnce.size > MAX_PREPARED) seenOnce.delete(seenOnce.values().next().value!)
  return ''
}

/** PostgreSQL's "cached plan must not change result type" (SQLSTATE 0A000). */
function isStalePlan(error: unknown): boolean {
  return (
    (error as { code?: unknown }).code === '0A000' &&
    /cached plan must not change result type/.test((error as Error).message ?? '')
  )
}
