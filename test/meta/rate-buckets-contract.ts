import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { RateBuckets } from '../../src/meta/index.ts'

/** The behaviour every `RateBuckets` adapter must have (time is given, never waited for). */
export function runRateBucketsContract(
  name: string,
  create: (t: TestContext) => Promise<(RateBuckets & { close(): Promise<void> }) | undefined>,
): void {
  describe(`RateBuckets contract: ${name}`, () => {
    const limit = { perMinute: 60, burst: 3 }
    const t0 = Date.UTC(2026, 11, 2)

    it('a full bucket gives burst tokens, then one a second (60 a minute), saying when the next comes', async (t) => {
      const buckets = await create(t)
      if (!buckets) return
      try {
        for (let i = 0; i < 3; i++)
          assert.deepEqual(await buckets.takeToken('a', limit, t0), { taken: true })
        assert.deepEqual(await buckets.takeToken('a', limit, t0), {
          taken: false,
          retryAfterMs: 1000,
        })
        assert.deepEqual(await buckets.takeToken('a', limit, t0 + 400), {
          taken: false,
          retryAfterMs: 600,
        })
        assert.deepEqual(await buckets.takeToken('a', limit, t0 + 1000), { taken: true })
        assert.equal((await buckets.takeToken('a', limit, t0 + 1000)).taken, false)
        assert.equal(
          (await buckets.takeToken('b', limit, t0)).taken,
          true,
          'another key, another bucket',
        )
        // Refilled no further than the burst, however long it rested.
        for (let i = 0; i < 3; i++)
          assert.equal((await buckets.takeToken('a', limit, t0 + 3_600_000)).taken, true)
        assert.equal((await buckets.takeToken('a', limit, t0 + 3_600_000)).taken, false)
        // A clock that went back refills nothing and breaks nothing.
        assert.equal((await buckets.takeToken('a', limit, t0)).taken, false)
      } finally {
        await buckets.close()
      }
    })

    it('takes racing for one bucket spend each token once', async (t) => {
      const buckets = await create(t)
      if (!buckets) return
      try {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            buckets.takeToken('race', { perMinute: 1, burst: 5 }, t0),
          ),
        )
        assert.equal(answers.filter((a) => a.taken).length, 5)
      } finally {
        await buckets.close()
      }
    })
  })
}
