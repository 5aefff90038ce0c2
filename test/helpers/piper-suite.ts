import assert from 'node:assert/strict'
import { after, before, type TestContext } from 'node:test'
import { type RunningPiper, startPiper } from './piper-server.ts'

/** Extra `piper up` flags choosing adapters; undefined skips (a server is absent). */
export type AdapterArgs = (t?: TestContext) => Promise<string[] | undefined>

/**
 * One `piper up` for the tests of a `describe`, started before them with `flags` and the
 * adapters' flags, stopped (exit 0) after. `ready(t)` is false when an adapter's server is
 * absent: the test then returns (skipped with a message locally, failed under CI=true).
 */
export function sharedPiper(adapters: AdapterArgs, flags: readonly string[]) {
  let piper: RunningPiper | undefined
  before(async () => {
    const args = await adapters()
    if (args) piper = await startPiper([...flags, ...args])
  })
  after(async () => {
    if (piper) assert.equal(await piper.stop(), 0, piper.output())
  })
  return {
    get base(): string {
      return piper?.url ?? ''
    },
    async ready(t: TestContext): Promise<boolean> {
      if (piper) return true
      await adapters(t)
      return false
    },
  }
}
