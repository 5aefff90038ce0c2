import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, it } from 'node:test'
import pg from 'pg'
import { JobEventFeed } from '../../src/jobs/index.ts'
import {
  JOB_EVENTS_CHANNEL,
  type JobEvent,
  PostgresDriver,
  SqlMetaStore,
} from '../../src/meta/index.ts'
import { PostgresListener } from '../../src/meta/postgres-listener.ts'
import { dropTestSchemas, freshPostgresUrl, POSTGRES_URL } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'

after(dropTestSchemas)

/** Signals counted, and a wait for the count to reach a number (no clock: the signal is the event). */
function counter() {
  let count = 0
  const waiting: { n: number; resolve: (count: number) => void }[] = []
  return {
    signal: () => {
      count++
      for (const w of waiting.filter((w) => count >= w.n)) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve(count)
      }
    },
    reached: (n: number) =>
      count >= n
        ? Promise.resolve(count)
        : new Promise<number>((resolve) => waiting.push({ n, resolve })),
  }
}

// Without the signal the reader would wait for its poll (an hour here): the bound makes that a
// failure rather than a hang.
it('postgres: a job event committed by one process wakes another process’s live reader at once', {
  timeout: 30_000,
}, async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const url = freshPostgresUrl()
  // Two stores on one database, as a gateway and a worker are.
  const gateway = new SqlMetaStore(new PostgresDriver(url))
  const worker = new SqlMetaStore(new PostgresDriver(url))
  await gateway.start()
  await worker.start()
  // No interval within the test: only the worker's announced commit makes the feed look.
  const feed = new JobEventFeed(gateway, { pollMs: 3_600_000, signals: gateway })
  const abort = new AbortController()
  try {
    const stream = feed.subscribe({ clientId: 'c1', after: 0, signal: abort.signal })
    const next = stream[Symbol.asyncIterator]().next()
    await worker.addJobEvent({
      clientId: 'c1',
      jobId: 'job_a',
      type: 'state',
      data: { state: 'running' },
    })
    const got = (await next) as IteratorResult<JobEvent>
    assert.equal(got.value.jobId, 'job_a')
    assert.equal(got.value.data.state, 'running')
  } finally {
    abort.abort()
    await feed.close()
    await feed.close() // idempotent
    await Promise.all([gateway.close(), worker.close()])
  }
})

it('postgres: a listener hears its own schema only, and hears again after its connection is killed', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const schema = new URL(freshPostgresUrl()).searchParams.get('schema')!
  const name = `piper-test-${randomBytes(4).toString('hex')}`
  const admin = new pg.Client(POSTGRES_URL)
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  const signals = counter()
  const listener = new PostgresListener(
    { connectionString: POSTGRES_URL, options: `-c search_path=${schema}`, application_name: name },
    JOB_EVENTS_CHANNEL,
    signals.signal,
  )
  try {
    // Once listening, it says so (what came before it listened may be missed).
    assert.equal(await signals.reached(1), 1)
    // Another deployment's announcement, then this one's, in one transaction: delivered in
    // order together, so when this one's is heard, the other's has been passed over.
    await admin.query(
      `BEGIN; SELECT pg_notify($1, 'another_schema'); SELECT pg_notify($1, $2); COMMIT`
        .replace(/\$1/g, `'${JOB_EVENTS_CHANNEL}'`)
        .replace('$2', `'${schema}'`),
    )
    assert.equal(await signals.reached(2), 2)
    // Its connection is killed (a restart of PostgreSQL, a proxy's idle timeout): it connects
    // again and signals, since what was announced meanwhile is lost.
    const { rowCount } = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [name],
    )
    assert.equal(rowCount, 1)
    assert.equal(await signals.reached(3), 3)
    await admin.query(`SELECT pg_notify('${JOB_EVENTS_CHANNEL}', '${schema}')`)
    assert.equal(await signals.reached(4), 4)
  } finally {
    await listener.close()
    await listener.close()
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`)
    await admin.end()
  }
})
