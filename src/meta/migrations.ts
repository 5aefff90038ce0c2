import { MetaError } from './errors.ts'
import type { SqlDriver } from './sql-driver.ts'

interface Types {
  bigint: string
  bytes: string
  /** Names sort byte by byte (UTF-8 order) in both databases, so listings page stably. */
  name: string
  /** An increasing integer key assigned at insert. */
  serial: string
  /** A floating-point number. */
  real: string
}

const TYPES: Record<SqlDriver['dialect'], Types> = {
  sqlite: {
    bigint: 'INTEGER',
    bytes: 'BLOB',
    name: 'TEXT',
    serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    real: 'REAL',
  },
  postgres: {
    bigint: 'BIGINT',
    bytes: 'BYTEA',
    name: 'TEXT COLLATE "C"',
    serial: 'BIGSERIAL PRIMARY KEY',
    real: 'DOUBLE PRECISION',
  },
}

/** Versioned migrations, applied in order, each in its own transaction. Never edit one. */
export const MIGRATIONS: readonly { version: number; name: string; sql: (t: Types) => string[] }[] =
  [
    {
      version: 1,
      name: 'clients, files, chunks, uploads, jobs',
      sql: (t) => [
        `CREATE TABLE clients (id ${t.name} PRIMARY KEY, created ${t.bigint} NOT NULL)`,
        `CREATE TABLE api_keys (
          hash TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          label TEXT NOT NULL,
          created ${t.bigint} NOT NULL)`,
        `CREATE TABLE chunks (
          key TEXT PRIMARY KEY,
          size ${t.bigint} NOT NULL,
          frequencies ${t.bytes} NOT NULL,
          refs ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL)`,
        'CREATE INDEX chunks_unreferenced ON chunks (refs) WHERE refs = 0',
        `CREATE TABLE files (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          name ${t.name} NOT NULL,
          size ${t.bigint} NOT NULL,
          sha256 TEXT NOT NULL,
          content_type TEXT NOT NULL,
          chunk_count ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL,
          UNIQUE (client_id, name))`,
        `CREATE TABLE file_chunks (
          file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
          seq ${t.bigint} NOT NULL,
          chunk_key TEXT NOT NULL REFERENCES chunks (key),
          start_offset ${t.bigint} NOT NULL,
          PRIMARY KEY (file_id, seq))`,
        `CREATE TABLE uploads (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          name ${t.name} NOT NULL,
          touched ${t.bigint} NOT NULL)`,
        `CREATE TABLE upload_chunks (
          upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
          seq ${t.bigint} NOT NULL,
          chunk_key TEXT NOT NULL REFERENCES chunks (key),
          PRIMARY KEY (upload_id, seq))`,
        `CREATE TABLE jobs (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          type TEXT NOT NULL,
          state TEXT NOT NULL,
          input ${t.name} NOT NULL,
          output ${t.name} NOT NULL,
          params TEXT NOT NULL,
          result TEXT,
          error TEXT,
          idempotency_key TEXT,
          version ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL,
          updated ${t.bigint} NOT NULL,
          UNIQUE (client_id, idempotency_key))`,
        'CREATE INDEX jobs_by_client ON jobs (client_id, id)',
      ],
    },
    {
      version: 2,
      name: 'job execution: output uploads, outbox, events',
      sql: (t) => [
        // The upload that collects a running job's output chunks until the join commits it.
        'ALTER TABLE jobs ADD COLUMN upload_id TEXT',
        // The outbox flag: 0 until the job's first task is on the queue.
        'ALTER TABLE jobs ADD COLUMN published INTEGER NOT NULL DEFAULT 0',
        'CREATE INDEX jobs_unpublished ON jobs (created) WHERE published = 0',
        // Bytes of input a job's output chunk came from, for progress.
        `ALTER TABLE upload_chunks ADD COLUMN source_size ${t.bigint}`,
        `CREATE TABLE job_events (
          id ${t.serial},
          client_id ${t.name} NOT NULL,
          job_id TEXT NOT NULL,
          type TEXT NOT NULL,
          data TEXT NOT NULL,
          created ${t.bigint} NOT NULL)`,
        'CREATE INDEX job_events_by_client ON job_events (client_id, id)',
        'CREATE INDEX job_events_by_job ON job_events (job_id, id)',
      ],
    },
    {
      version: 3,
      name: 'chunk leases',
      sql: (t) => [
        // Cross-process chunk locks that hold no connection (PostgreSQL; see lease-lock.ts).
        `CREATE TABLE chunk_leases (
          key TEXT PRIMARY KEY,
          owner TEXT NOT NULL,
          expires ${t.bigint} NOT NULL)`,
      ],
    },
    {
      version: 4,
      name: 'pipelines and runs',
      sql: (t) => [
        // The inputs of a kind that reads several files (JSON list); null for one.
        'ALTER TABLE jobs ADD COLUMN inputs TEXT',
        // The run, step and item a job belongs to (null for a plain job).
        'ALTER TABLE jobs ADD COLUMN run_id TEXT',
        'ALTER TABLE jobs ADD COLUMN step TEXT',
        `ALTER TABLE jobs ADD COLUMN item ${t.bigint}`,
        // The work queue of a sharded step's job (`jobs.<kind>.<shard>`); null: the kind's own.
        `ALTER TABLE jobs ADD COLUMN shard ${t.bigint}`,
        // Tries after the first (a retried job's tasks get new idempotency keys).
        'ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0',
        'CREATE INDEX jobs_by_run ON jobs (run_id, step, item)',
        // Every version of a pipeline stays (runs name the version they ran); deleting marks all.
        `CREATE TABLE pipelines (
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          name ${t.name} NOT NULL,
          version ${t.bigint} NOT NULL,
          definition TEXT NOT NULL,
          deleted INTEGER NOT NULL DEFAULT 0,
          created ${t.bigint} NOT NULL,
          PRIMARY KEY (client_id, name, version))`,
        // A run keeps a copy of the definition it runs, so editing the pipeline changes no run.
        `CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          pipeline ${t.name} NOT NULL,
          pipeline_version ${t.bigint} NOT NULL,
          definition TEXT NOT NULL,
          inputs TEXT NOT NULL,
          state TEXT NOT NULL,
          steps TEXT NOT NULL,
          result TEXT,
          error TEXT,
          idempotency_key TEXT,
          published INTEGER NOT NULL DEFAULT 0,
          version ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL,
          updated ${t.bigint} NOT NULL,
          UNIQUE (client_id, idempotency_key))`,
        'CREATE INDEX runs_by_client ON runs (client_id, id)',
        'CREATE INDEX runs_by_state ON runs (state, updated)',
      ],
    },
    {
      version: 5,
      name: 'images',
      sql: (t) => [
        // One row per image file that was hashed or measured; it goes with its file.
        `CREATE TABLE images (
          file_id TEXT PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
          client_id ${t.name} NOT NULL,
          format TEXT NOT NULL,
          width ${t.bigint} NOT NULL,
          height ${t.bigint} NOT NULL,
          bytes ${t.bigint} NOT NULL,
          phash TEXT,
          dhash TEXT,
          band0 INTEGER,
          band1 INTEGER,
          band2 INTEGER,
          band3 INTEGER,
          stats TEXT,
          created ${t.bigint} NOT NULL)`,
        // The multi-index: each 16-bit band of the pHash is a key of its own.
        'CREATE INDEX images_band0 ON images (client_id, band0)',
        'CREATE INDEX images_band1 ON images (client_id, band1)',
        'CREATE INDEX images_band2 ON images (client_id, band2)',
        'CREATE INDEX images_band3 ON images (client_id, band3)',
        'CREATE INDEX images_by_time ON images (client_id, created)',
        // What each finished image job wrote, once per job (a rerun task does not count twice).
        `CREATE TABLE image_outputs (
          job_id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL,
          kind TEXT NOT NULL,
          outputs ${t.bigint} NOT NULL,
          bytes_in ${t.bigint} NOT NULL,
          bytes_out ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL)`,
        'CREATE INDEX image_outputs_by_time ON image_outputs (client_id, created)',
      ],
    },
    {
      version: 6,
      name: 'storage nodes',
      sql: (t) => [
        // The storage nodes of nodes://registry stores: who they are, where, their state
        // (up, down, draining, removed) and their figures from the last heartbeat.
        `CREATE TABLE storage_nodes (
          id TEXT PRIMARY KEY,
          address TEXT NOT NULL UNIQUE,
          state TEXT NOT NULL,
          capacity ${t.bigint} NOT NULL,
          used ${t.bigint} NOT NULL,
          free ${t.bigint} NOT NULL,
          last_seen ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL)`,
      ],
    },
    {
      version: 7,
      name: 'leader leases',
      sql: (t) => [
        // One row per singleton task (repair, …): which process leads it until when.
        `CREATE TABLE leader_leases (
          name TEXT PRIMARY KEY,
          holder TEXT NOT NULL,
          expires ${t.bigint} NOT NULL)`,
      ],
    },
    {
      version: 8,
      name: 'schedules',
      sql: (t) => [
        // A schedule starts a pipeline run at each tick of its cron expression; next_tick is the
        // first tick not yet handled (ms), paused ones are skipped.
        `CREATE TABLE schedules (
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          name ${t.name} NOT NULL,
          definition TEXT NOT NULL,
          paused INTEGER NOT NULL DEFAULT 0,
          next_tick ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL,
          updated ${t.bigint} NOT NULL,
          PRIMARY KEY (client_id, name))`,
        'CREATE INDEX schedules_due ON schedules (next_tick) WHERE paused = 0',
        // One row per tick handled: its primary key is what makes a tick start one run however
        // many processes see it due. state: claimed, started, waiting, skipped, failed.
        `CREATE TABLE schedule_ticks (
          client_id ${t.name} NOT NULL,
          name ${t.name} NOT NULL,
          tick ${t.bigint} NOT NULL,
          state TEXT NOT NULL,
          run_id TEXT,
          error TEXT,
          created ${t.bigint} NOT NULL,
          PRIMARY KEY (client_id, name, tick))`,
        'CREATE INDEX schedule_ticks_open ON schedule_ticks (state, created)',
      ],
    },
    {
      version: 9,
      name: 'rate buckets, queued jobs',
      sql: (t) => [
        // A token bucket per client (and limit), shared by every gateway: tokens left as of
        // `updated` (ms); refilled by the rate when next taken from.
        `CREATE TABLE rate_buckets (
          key TEXT PRIMARY KEY,
          tokens ${t.real} NOT NULL,
          updated ${t.bigint} NOT NULL)`,
        // The work waiting, counted by load shedding without reading every job.
        `CREATE INDEX jobs_queued ON jobs (state) WHERE state = 'queued'`,
      ],
    },
    {
      version: 10,
      name: 'tus uploads',
      sql: (t) => [
        // A resumable upload (tus 1.0): the bytes received so far are the chunks of its upload
        // row (`upload_id`), `next_seq` the position of the next one. length is null until a
        // deferred length is given; file_id is set once it is complete and became a file.
        // concat: 'partial' (a part of a later final upload) or null.
        `CREATE TABLE tus_uploads (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          upload_id TEXT NOT NULL,
          name ${t.name} NOT NULL,
          length ${t.bigint},
          received ${t.bigint} NOT NULL,
          next_seq ${t.bigint} NOT NULL,
          metadata TEXT NOT NULL,
          concat TEXT,
          file_id TEXT,
          created ${t.bigint} NOT NULL,
          expires ${t.bigint} NOT NULL)`,
        'CREATE INDEX tus_uploads_expiring ON tus_uploads (expires)',
      ],
    },
    {
      version: 11,
      name: 'webhooks',
      sql: (t) => [
        // An endpoint of a client's and the events it wants (JSON list of names and patterns).
        // previous_secret still signs until previous_until (a rotation's grace); failing_since:
        // when the current run of failed deliveries began (null while it delivers).
        // after_event: events up to this id came before it and are not sent to it.
        `CREATE TABLE webhooks (
          id TEXT PRIMARY KEY,
          client_id ${t.name} NOT NULL REFERENCES clients (id),
          url TEXT NOT NULL,
          events TEXT NOT NULL,
          secret TEXT NOT NULL,
          previous_secret TEXT,
          previous_until ${t.bigint},
          state TEXT NOT NULL,
          disabled_reason TEXT,
          failing_since ${t.bigint},
          after_event ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL,
          updated ${t.bigint} NOT NULL)`,
        'CREATE INDEX webhooks_by_client ON webhooks (client_id, id)',
        // One row per delivery attempt: status is the HTTP status (null: no answer).
        `CREATE TABLE webhook_deliveries (
          id ${t.serial},
          webhook_id TEXT NOT NULL,
          message_id TEXT NOT NULL,
          event_type TEXT NOT NULL,
          attempt ${t.bigint} NOT NULL,
          status ${t.bigint},
          error TEXT,
          duration_ms ${t.bigint} NOT NULL,
          created ${t.bigint} NOT NULL)`,
        'CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id)',
        // How far a tailer of job_events (the webhook dispatcher) has read.
        `CREATE TABLE event_cursors (
          name TEXT PRIMARY KEY,
          position ${t.bigint} NOT NULL)`,
      ],
    },
    {
      version: 12,
      name: 'usage statistics',
      sql: (t) => [
        // Counters per client and bucket (granularity minute, hour or day; start in ms, UTC),
        // added to as the stats tailer reads the event history, in the transaction that moves
        // its cursor: each event is counted once.
        `CREATE TABLE usage_counters (
          client_id ${t.name} NOT NULL,
          granularity TEXT NOT NULL,
          start ${t.bigint} NOT NULL,
          metric TEXT NOT NULL,
          value ${t.real} NOT NULL,
          PRIMARY KEY (client_id, granularity, start, metric))`,
        // A mergeable latency sketch (DDSketch, protobuf) per client, bucket and job kind.
        `CREATE TABLE usage_sketches (
          client_id ${t.name} NOT NULL,
          granularity TEXT NOT NULL,
          start ${t.bigint} NOT NULL,
          kind TEXT NOT NULL,
          sketch ${t.bytes} NOT NULL,
          PRIMARY KEY (client_id, granularity, start, kind))`,
      ],
    },
    {
      version: 13,
      name: 'deduplicated chunks',
      sql: () => [
        // 1 when the chunk was stored already as the upload took it (by another file, or earlier
        // in the same one): its bytes were not written again. Counts the bytes deduplication
        // saved once the upload becomes a file.
        'ALTER TABLE upload_chunks ADD COLUMN shared INTEGER NOT NULL DEFAULT 0',
      ],
    },
    {
      version: 14,
      name: 'job parts counted once stored',
      sql: () => [
        // 1 from a job's part's reference until its bytes are stored and its progress recorded:
        // the reference comes first (see addUploadChunk), and a job's progress — which starts its
        // join — counts only parts that are done.
        'ALTER TABLE upload_chunks ADD COLUMN pending INTEGER NOT NULL DEFAULT 0',
      ],
    },
    {
      version: 15,
      name: 'runs count their retried jobs',
      sql: () => [
        // Bumped with each retry of one of the run's jobs, the only change an ended job sees:
        // the run engine keeps what it read of ended jobs while this stays the same.
        'ALTER TABLE runs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0',
      ],
    },
  ]

/**
 * Brings the schema up to date. Concurrent starters serialise on the migrations lock; a
 * database migrated by a newer Piper is refused rather than misread.
 */
export async function migrate(driver: SqlDriver): Promise<number[]> {
  const types = TYPES[driver.dialect]
  return driver.withLock('piper_migrations', async () => {
    await driver.run(`CREATE TABLE IF NOT EXISTS piper_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied ${types.bigint} NOT NULL)`)
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version
    const rows = await driver.all('SELECT max(version) AS newest FROM piper_migrations')
    const newest = Number(rows[0]?.newest ?? 0)
    if (newest > latest) {
      throw new MetaError(
        'E_META_MIGRATION',
        `the database is at schema version ${newest}, newer than this Piper knows (${latest}); upgrade Piper`,
      )
    }
    const done: number[] = []
    for (const migration of MIGRATIONS) {
      try {
        const applied = await driver.transaction(async (tx) => {
          // Checked inside the transaction too: SQLite's lock is per process, its write lock is not.
          const seen = await tx.all('SELECT 1 FROM piper_migrations WHERE version = $1', [
            migration.version,
          ])
          if (seen.length > 0) return false
          for (const statement of migration.sql(types)) await tx.run(statement)
          await tx.run(
            'INSERT INTO piper_migrations (version, name, applied) VALUES ($1, $2, $3)',
            [migration.version, migration.name, Date.now()],
          )
          return true
        })
        if (applied) done.push(migration.version)
      } catch (error) {
        throw new MetaError(
          'E_META_MIGRATION',
          `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
          { cause: error },
        )
      }
    }
    return done
  })
}
