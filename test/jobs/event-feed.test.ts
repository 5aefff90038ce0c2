import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { JobEventFeed } from '../../src/jobs/index.ts'
import { type JobEvent, SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

/**
 * A feed on a real store whose event queries are counted (`queries()`), with no interval
 * within a test: only notify() makes it look.
 */
async function countedFeed() {
  const dir = await mkdtemp(join(tmpdir(), 'piper-feed-'))
  dirs.push(dir)
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await meta.start()
  let count = 0
  const jobEvents = meta.jobEvents.bind(meta)
  meta.jobEvents = (query) => {
    count++
    return jobEvents(query)
  }
  return { meta, feed: new JobEventFeed(meta, { pollMs: 3_600_000 }), queries: () => count }
}

it('one poller serves every live reader: an event wakes only the readers it belongs to', async () => {
  const { meta, feed, queries } = await countedFeed()
  const abort = new AbortController()
  const readers = 50
  const streams = Array.from({ length: readers }, (_, i) =>
    feed.subscribe({ clientId: `c${i}`, after: 0, signal: abort.signal })[Symbol.asyncIterator](),
  )
  try {
    // Each reader reads its (empty) backlog and waits.
    const first = streams.map((s) => s.next())
    await meta.addJobEvent({
      clientId: 'c7',
      jobId: 'job_a',
      type: 'state',
      data: { state: 'queued' },
    })
    feed.notify()
    const got = (await first[7]) as IteratorResult<JobEvent>
    assert.equal(got.value.clientId, 'c7')
    const before = queries()
    await meta.addJobEvent({
      clientId: 'c7',
      jobId: 'job_a',
      type: 'state',
      data: { state: 'running' },
    })
    feed.notify()
    const next = (await streams[7]!.next()) as IteratorResult<JobEvent>
    assert.equal(next.value.data.state, 'running')
    const spent = queries() - before
    assert.ok(spent <= 3, `one event for one client cost ${spent} queries for ${readers} readers`)
    abort.abort()
    await Promise.all(first.filter((_, i) => i !== 7))
  } finally {
    abort.abort()
    await meta.close()
  }
})

it('busy readers take their events from what the poller read: one query per look, not one per reader', async () => {
  const { meta, feed, queries } = await countedFeed()
  const abort = new AbortController()
  const readers = 50
  // Half follow a client, half one job of theirs; a job of another client's is not theirs.
  const streams = Array.from({ length: readers }, (_, i) =>
    feed
      .subscribe({
        clientId: `c${i}`,
        ...(i % 2 ? { jobId: `job_${i}` } : {}),
        after: 0,
        signal: abort.signal,
      })
      [Symbol.asyncIterator](),
  )
  try {
    const first = streams.map((s) => s.next())
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < readers; i++) {
        await meta.addJobEvent({
          clientId: `c${i}`,
          jobId: `job_${i}`,
          type: 'state',
          data: { state: `s${round}` },
        })
        // Someone else's event on a job id a reader follows: not for that reader.
        await meta.addJobEvent({ clientId: 'other', jobId: `job_${i}`, type: 'state', data: {} })
      }
      const before = queries()
      feed.notify()
      const got = (await Promise.all(
        round === 0 ? first : streams.map((s) => s.next()),
      )) as IteratorResult<JobEvent>[]
      assert.deepEqual(
        got.map((r) => [r.value.clientId, r.value.jobId, r.value.data.state]),
        Array.from({ length: readers }, (_, i) => [`c${i}`, `job_${i}`, `s${round}`]),
      )
      if (round > 0) {
        const spent = queries() - before
        assert.ok(spent <= 2, `a look with news for ${readers} readers cost ${spent} queries`)
      }
    }
  } finally {
    abort.abort()
    await meta.close()
  }
})
