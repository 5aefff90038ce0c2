import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it, type TestContext } from 'node:test'
import { LeaderTask } from '../../src/app/index.ts'
import { leaseHolder, withLease } from '../../src/app/with-lease.ts'
import { PostgresDriver, SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { silent } from '../helpers/job-system.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'

const dirs: string[] = []
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  await dropTestSchemas()
})

for (const [label, open] of [
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'piper-leader-'))
      dirs.push(dir)
      return new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
    },
  ],
  [
    'postgres',
    async (t: TestContext) =>
      (await requireServer(t, POSTGRES))
        ? new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
        : undefined,
  ],
] as const) {
  describe(`leader leases: ${label}`, () => {
    it('one process runs a singleton at a time; when it stops, another takes over', async (t) => {
      const meta = await open(t)
      if (!meta) return
      await meta.start()
      const runs: string[] = []
      let release = () => {}
      const blocked = new Promise<void>((resolve) => {
        release = resolve
      })
      const task = (who: string, hold = false) =>
        new LeaderTask({
          name: 'test-singleton',
          leases: meta,
          logger: silent,
          intervalMs: 3_600_000,
          run: async () => {
            runs.push(who)
            if (hold) await blocked
          },
        })
      const a = task('a', true)
      const b = task('b')
      try {
        const first = a.runOnce()
        await new Promise((r) => setImmediate(r))
        while (runs.length === 0) await new Promise((r) => setTimeout(r, 5))
        await b.runOnce() // a leads and holds: b does not run
        assert.deepEqual(runs, ['a'])
        release()
        await first
        await b.runOnce() // a still holds the lease (it renews until it closes)
        assert.deepEqual(runs, ['a'])
        await a.close()
        await b.runOnce()
        assert.deepEqual(runs, ['a', 'b'])
        // trigger() answers once the lease is decided, without waiting for the run.
        const c = task('c', true)
        assert.equal(await c.trigger(), false, 'b holds the lease')
        await b.close()
        let ran = false
        const d = new LeaderTask({
          name: 'test-singleton',
          leases: meta,
          logger: silent,
          intervalMs: 0,
          run: (signal) => {
            ran = true
            // Runs until closed.
            return new Promise((resolve) => signal.addEventListener('abort', () => resolve()))
          },
        })
        assert.equal(await d.trigger(), true)
        assert.equal(ran, true)
        assert.equal(d.busy, true)
        await d.close()
        assert.equal(d.busy, false)
        await c.close()
        // A lease that ran out goes to whoever asks.
        assert.equal(await meta.lead('expired', 'x', -1), true)
        assert.equal(await meta.lead('expired', 'y', 60_000), true)
        assert.equal(await meta.lead('expired', 'x', 60_000), false)
        // A lease whose holder was a process of this host that is gone (kill -9) is taken at once.
        const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!
        await meta.lead('crashed', `${hostname()}:${dead}:abcd1234`, 60_000)
        assert.equal(await meta.holderOf('crashed'), `${hostname()}:${dead}:abcd1234`)
        const outcome = await withLease(
          { leases: meta, name: 'crashed', holder: leaseHolder(), ttlMs: 60_000 },
          async () => 'ran',
        )
        assert.deepEqual(outcome, { led: true, value: 'ran' })
        // A live holder (this process) keeps it.
        await meta.lead('alive', `${hostname()}:${process.pid}:abcd1234`, 60_000)
        const refused = await withLease(
          { leases: meta, name: 'alive', holder: leaseHolder(), ttlMs: 60_000 },
          async () => 'ran',
        )
        assert.deepEqual(refused, { led: false })
      } finally {
        await a.close()
        await b.close()
        await meta.close()
      }
    })
  })
}
