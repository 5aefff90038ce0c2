import assert from 'node:assert/strict'
import { it } from 'node:test'
import { PeriodicSweep } from '../../src/jobs/periodic-sweep.ts'
import { silent } from '../helpers/job-system.ts'

it('PeriodicSweep: every process sweeps at start; after that only while it leads', async () => {
  const swept: string[] = []
  let asked = 0
  let leading = false
  let onAsk = () => {}
  const lead = async () => {
    asked++
    onAsk()
    return leading
  }
  const sweeper = new PeriodicSweep(
    'test sweep',
    async () => void swept.push(leading ? 'leader' : 'start'),
    5,
    silent,
    lead,
  )
  const askedTimes = (n: number) =>
    new Promise<void>((resolve) => {
      onAsk = () => {
        if (asked >= n) resolve()
      }
    })
  await sweeper.start()
  assert.deepEqual(swept, ['start'])
  // Not leading: the timer asks, and the sweep is skipped (waited for by the asks, not by time).
  await askedTimes(3)
  await sweeper.close()
  assert.deepEqual(swept, ['start'])
  leading = true
  const leader = new PeriodicSweep(
    'test sweep',
    async () => void swept.push('leader'),
    5,
    silent,
    lead,
  )
  await leader.start()
  await askedTimes(asked + 2)
  await leader.close()
  assert.ok(swept.filter((s) => s === 'leader').length >= 2, JSON.stringify(swept))
})
