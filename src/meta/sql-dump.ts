import { MetaError } from './errors.ts'
import { MIGRATIONS } from './migrations.ts'
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './sql-driver.ts'

/**
 * The tables a metadata dump holds, in the order a load inserts them (parents before the rows
 * that reference them), each with its primary key (the dump pages by it) and an optional filter.
 * Left out, on purpose: `chunk_leases` and `leader_leases` (who holds a lock now: meaningless in
 * another deployment), `rate_buckets` (how many requests a client made this minute), `storage_nodes` (the addresses of one cluster's nodes) and
 * `piper_migrations` (the dump's header carries the schema version).
 */
export const DUMP_TABLES: readonly { name: string; key: string[]; where?: string }[] = [
  { name: 'clients', key: ['id'] },
  { name: 'api_keys', key: ['hash'] },
  // A chunk no file or upload references is garbage waiting to be collected: its blob may be
  // gone before a backup copies it, and nothing needs it.
  { name: 'chunks', key: ['key'], where: 'refs > 0' },
  { name: 'files', key: ['id'] },
  { name: 'file_chunks', key: ['file_id', 'seq'] },
  { name: 'uploads', key: ['id'] },
  { name: 'upload_chunks', key: ['upload_id', 'seq'] },
  { name: 'tus_uploads', key: ['id'] },
  { name: 'jobs', key: ['id'] },
  { name: 'job_events', key: ['id'] },
  { name: 'pipelines', key: ['client_id', 'name', 'version'] },
  { name: 'runs', key: ['id'] },
  { name: 'images', key: ['file_id'] },
  { name: 'image_outputs', key: ['job_id'] },
  { name: 'schedules', key: ['client_id', 'name'] },
  { name: 'schedule_ticks', key: ['client_id', 'name', 'tick'] },
  { name: 'webhooks', key: ['id'] },
  { name: 'webhook_deliveries', key: ['id'] },
  { name: 'event_cursors', key: ['name'] },
  { name: 'usage_counters', key: ['client_id', 'granularity', 'start', 'metric'] },
  { name: 'usage_sketches', key: ['client_id', 'granularity', 'start', 'kind'] },
]

/** Tables in the schema that a dump leaves out (see `DUMP_TABLES`). */
export const UNDUMPED_TABLES: readonly string[] = [
  'rate_buckets',
  'chunk_leases',
  'leader_leases',
  'storage_nodes',
  'piper_migrations',
]

/**
 * One line of a dump, in order: a `header`, then per table a `table` line with its columns
 * followed by its `row`s (values in column order), then one `end` with the row counts — a dump
 * without its `end` was cut off. Bytes are `{"b64": "…"}`; integers may be numbers or strings.
 */
export type DumpLine =
  | { header: { format: 'piper-metadata'; version: 1; schema: number; dialect: string } }
  | { table: string; columns: string[] }
  | { row: DumpValue[] }
  | { end: { rows: Record<string, number> } }

export type DumpValue = string | number | null | { b64: string }

const PAGE = 1000
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Writes every row of the dumped tables as of one moment (`driver.snapshot`) to `sink`, line by
 * line, awaiting each (the sink's backpressure). Pages by primary key, so a table of millions
 * of rows is never held in memory.
 */
export async function dumpTables(
  driver: SqlDriver,
  sink: (line: DumpLine) => Promise<void> | void,
): Promise<Record<string, number>> {
  return driver.snapshot(async (reader) => {
    const [version] = await reader.all('SELECT max(version) AS v FROM piper_migrations')
    await sink({
      header: {
        format: 'piper-metadata',
        version: 1,
        schema: Number(version?.v ?? 0),
        dialect: driver.dialect,
      },
    })
    const counts: Record<string, number> = {}
    for (const table of DUMP_TABLES) counts[table.name] = await dumpTable(reader, table, sink)
    await sink({ end: { rows: counts } })
    return counts
  })
}

/** One table's `table` line and rows, page by page; how many rows. */
async function dumpTable(
  reader: SqlExecutor,
  table: (typeof DUMP_TABLES)[number],
  sink: (line: DumpLine) => Promise<void> | void,
): Promise<number> {
  let count = 0
  let columns: string[] | undefined
  let after: SqlParam[] | undefined
  for (;;) {
    const page = await readPage(reader, table, after)
    if (page.length === 0) return count
    if (!columns) {
      columns = Object.keys(page[0]!)
      await sink({ table: table.name, columns })
    }
    for (const row of page) await sink({ row: columns.map((c) => encodeValue(row[c])) })
    count += page.length
    const last = page[page.length - 1]!
    after = table.key.map((k) => last[k] as SqlParam)
    if (page.length < PAGE) return count
  }
}

function readPage(
  reader: SqlExecutor,
  table: (typeof DUMP_TABLES)[number],
  after: SqlParam[] | undefined,
): Promise<Row[]> {
  const key = table.key.join(', ')
  const conditions = table.where ? [table.where] : []
  // A row-value comparison pages by a composite key in both SQLite (3.15+) and PostgreSQL.
  if (after) conditions.push(`(${key}) > (${after.map((_, i) => `$${i + 1}`).join(', ')})`)
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''
  return reader.all(
    `SELECT * FROM ${table.name} ${where} ORDER BY ${key} LIMIT ${PAGE}`,
    after ?? [],
  )
}

function encodeValue(value: unknown): DumpValue {
  if (value === null || value === undefined) return null
  if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') }
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' || typeof value === 'string') return value
  throw new MetaError(
    'E_META_UNAVAILABLE',
    `a column value of type ${typeof value} cannot be dumped`,
  )
}

function decodeValue(value: DumpValue): SqlParam {
  if (value !== null && typeof value === 'object') return Buffer.from(value.b64, 'base64')
  return value
}

/** A dump that cannot be loaded: cut off, of another format or schema, or with unknown names. */
export class DumpError extends Error {
  readonly code = 'E_BACKUP_CORRUPT'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DumpError'
  }
}

/**
 * Inserts a dump's rows into `driver`'s database in one transaction: all of them or, when the
 * dump is cut off or malformed, none (a `DumpError`). The database must hold no files, jobs,
 * runs, pipelines or keys yet. Jobs and runs that were queued or running when the dump was taken
 * have no queue message any more: they are marked failed (`E_RESTORED`), to be retried.
 */
export async function loadTables(
  driver: SqlDriver,
  lines: AsyncIterable<DumpLine>,
  options: { restoredFrom: string },
): Promise<Record<string, number>> {
  return driver.transaction(async (tx) => {
    const held = await heldTable(tx)
    if (held) {
      throw new MetaError(
        'E_RESTORE_NOT_EMPTY',
        `the metadata store to restore into is not empty (it has ${held}); restore into a new one`,
      )
    }
    const loader = new DumpLoader(tx)
    for await (const line of lines) await loader.take(line)
    const counts = loader.finish()
    await interruptUnfinished(tx, options.restoredFrom)
    if (driver.dialect === 'postgres') {
      // Rows came with their ids; the sequences must go on after the largest.
      for (const table of ['job_events', 'webhook_deliveries']) {
        await tx.all(
          `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE(max(id), 0) + 1, false) FROM ${table}`,
        )
      }
    }
    return counts
  })
}

/** The first table a restore must find empty that has rows; undefined when the store is new. */
export async function heldTable(reader: SqlExecutor): Promise<string | undefined> {
  for (const table of ['files', 'jobs', 'runs', 'pipelines', 'api_keys', 'uploads']) {
    if ((await reader.all(`SELECT 1 FROM ${table} LIMIT 1`)).length > 0) return table
  }
  return undefined
}

/** Checks a dump line by line and inserts its rows in batches (one table's rows per statement). */
class DumpLoader {
  readonly #tx: SqlExecutor
  readonly #known = new Set(DUMP_TABLES.map((t) => t.name))
  readonly #counts: Record<string, number> = {}
  #state: 'start' | 'body' | 'ended' = 'start'
  #table: { name: string; columns: string[] } | undefined
  #batch: SqlParam[][] = []

  constructor(tx: SqlExecutor) {
    this.#tx = tx
  }

  async take(line: DumpLine): Promise<void> {
    if (this.#state === 'ended') throw new DumpError('the metadata dump goes on after its end')
    if ('header' in line) return this.#header(line.header)
    if (this.#state === 'start') throw new DumpError('the metadata dump has no header')
    if ('table' in line) return this.#startTable(line.table, line.columns)
    if ('row' in line) return this.#row(line.row)
    if ('end' in line) return this.#end(line.end?.rows)
    throw new DumpError('a line of the metadata dump is of no known kind')
  }

  finish(): Record<string, number> {
    if (this.#state !== 'ended')
      throw new DumpError('the metadata dump was cut off (it has no end)')
    return this.#counts
  }

  #header(h: Extract<DumpLine, { header: unknown }>['header']): void {
    if (this.#state !== 'start') throw new DumpError('the metadata dump has a second header')
    if (h?.format !== 'piper-metadata' || h.version !== 1) {
      throw new DumpError('not a Piper metadata dump (or of a newer format)')
    }
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version
    if (!Number.isInteger(h.schema) || h.schema > latest) {
      throw new DumpError(
        `the dump is of schema ${h.schema}, newer than this Piper knows (${latest}); upgrade Piper`,
      )
    }
    this.#state = 'body'
  }

  async #startTable(name: string, columns: unknown): Promise<void> {
    await this.#flush()
    if (!this.#known.has(name) || !Array.isArray(columns)) {
      throw new DumpError(`the dump names a table Piper does not restore: ${name}`)
    }
    if (!columns.every((c) => typeof c === 'string' && IDENTIFIER.test(c))) {
      throw new DumpError(`the dump names a malformed column of ${name}`)
    }
    this.#table = { name, columns }
  }

  async #row(row: unknown): Promise<void> {
    const table = this.#table
    if (!table || !Array.isArray(row) || row.length !== table.columns.length) {
      throw new DumpError('a row of the metadata dump does not fit its table')
    }
    this.#batch.push(row.map(decodeValue))
    if (this.#batch.length * table.columns.length >= 900) await this.#flush()
  }

  async #end(rows: Record<string, number> | undefined): Promise<void> {
    await this.#flush()
    const said = rows ?? {}
    for (const name of new Set([...Object.keys(said), ...Object.keys(this.#counts)])) {
      const loaded = this.#counts[name] ?? 0
      if (loaded !== (said[name] ?? 0)) {
        throw new DumpError(`the dump's ${name} holds ${loaded} rows, not ${said[name] ?? 0}`)
      }
    }
    this.#state = 'ended'
  }

  async #flush(): Promise<void> {
    const table = this.#table
    if (!table || this.#batch.length === 0) return
    await insertRows(this.#tx, table.name, table.columns, this.#batch)
    this.#counts[table.name] = (this.#counts[table.name] ?? 0) + this.#batch.length
    this.#batch = []
  }
}

async function insertRows(
  tx: SqlExecutor,
  table: string,
  columns: string[],
  rows: SqlParam[][],
): Promise<void> {
  let n = 0
  const values = rows.map((row) => `(${row.map(() => `$${++n}`).join(', ')})`).join(', ')
  try {
    // ON CONFLICT DO NOTHING: a row the new database made itself (the default client) stays.
    await tx.run(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ON CONFLICT DO NOTHING`,
      rows.flat(),
    )
  } catch (error) {
    throw new DumpError(`rows of ${table} could not be restored: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

async function interruptUnfinished(tx: SqlExecutor, restoredFrom: string): Promise<void> {
  const error = JSON.stringify({
    code: 'E_RESTORED',
    message: `it was unfinished in backup ${restoredFrom}, restored without its queue; retry it`,
  })
  const now = Date.now()
  for (const table of ['jobs', 'runs']) {
    await tx.run(
      `UPDATE ${table} SET state = 'failed', error = $1, published = 1, version = version + 1,
              updated = $2 WHERE state IN ('queued', 'running')`,
      [error, now],
    )
  }
}
