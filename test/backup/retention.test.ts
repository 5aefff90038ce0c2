import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { isoWeek, newBackupId, planRetention } from '../../src/backup/index.ts'

const DAY = 86_400_000

it('isoWeek: ISO 8601 weeks at year ends', () => {
  assert.equal(isoWeek(Date.UTC(2026, 0, 1)), '2026-W01') // a Thursday
  assert.equal(isoWeek(Date.UTC(2027, 0, 1)), '2026-W53') // a Friday: the last week of 2026
  assert.equal(isoWeek(Date.UTC(2024, 11, 30)), '2025-W01') // a Monday in 2025's first week
  assert.equal(isoWeek(Date.UTC(2026, 11, 6, 23, 59)), '2026-W49') // Sunday ends the week
  assert.equal(isoWeek(Date.UTC(2026, 11, 7)), '2026-W50')
})

const backups = fc
  .uniqueArray(fc.integer({ min: 0, max: 120 * DAY }), { minLength: 1, maxLength: 60 })
  .map((times) =>
    times.map((t) => {
      const started = Date.UTC(2026, 0, 1) + t
      return { id: newBackupId(new Date(started)), started }
    }),
  )
const policy = fc.record(
  {
    last: fc.integer({ min: 0, max: 5 }),
    daily: fc.integer({ min: 0, max: 10 }),
    weekly: fc.integer({ min: 0, max: 6 }),
  },
  { requiredKeys: [] },
)

it('planRetention: keeps the newest always, only what it was given, no more than the policy allows, and the newest of each kept day', () => {
  fc.assert(
    fc.property(backups, policy, (list, p) => {
      const keep = planRetention(list, p)
      const newest = [...list].sort((a, b) => b.started - a.started)
      assert.ok(keep.has(newest[0]!.id))
      for (const id of keep) assert.ok(list.some((b) => b.id === id))
      assert.ok(keep.size <= 1 + (p.last ?? 0) + (p.daily ?? 0) + (p.weekly ?? 0))
      for (const b of newest.slice(0, p.last ?? 0)) assert.ok(keep.has(b.id))
      const days = [...new Set(newest.map((b) => new Date(b.started).toISOString().slice(0, 10)))]
      for (const day of days.slice(0, p.daily ?? 0)) {
        const newestOfDay = newest.find((b) => new Date(b.started).toISOString().startsWith(day))!
        assert.ok(keep.has(newestOfDay.id), `the newest backup of ${day}`)
      }
      const weeks = [...new Set(newest.map((b) => isoWeek(b.started)))]
      for (const week of weeks.slice(0, p.weekly ?? 0)) {
        assert.ok(newest.some((b) => isoWeek(b.started) === week && keep.has(b.id)))
      }
      // The same backups in another order: the same plan.
      assert.deepEqual([...planRetention([...list].reverse(), p)].sort(), [...keep].sort())
    }),
  )
})
