import type { MetaStore } from '../meta/index.ts'
import { RUN_TOPIC } from '../pipelines/index.ts'
import type { Queue } from '../queue/index.ts'

/** How long one dependency may take to answer before it counts as down. */
const TIMEOUT_MS = 2_000
/** Answers are reused this long: a probe every second per pod asks each dependency once. */
const CACHE_MS = 1_000

/**
 * What `/readyz` asks before it says yes: the metadata store answers a query and the queue
 * answers for a topic. The names of those that do not (in time), or none. A process whose
 * database or queue is gone is taken out of its load balancer's rotation; `/livez` stays 200
 * (restarting it would not bring the database back).
 */
export function dependencyChecks(o: {
  meta: Pick<MetaStore, 'hasApiKeys'>
  queue: Pick<Queue, 'stats'>
  /**
   * Dependencies behind a circuit breaker: ready while the circuit is closed; otherwise the
   * probe (a cheap call through the breaker) says, and its success closes the circuit again.
   */
  breakers?: { breaker: { name: string; state: string }; probe: () => Promise<unknown> }[]
  now?: () => number
}): () => Promise<string[]> {
  const now = o.now ?? Date.now
  let last: { at: number; failing: Promise<string[]> } | undefined
  const checks: [string, () => Promise<unknown>][] = [
    ['meta', () => o.meta.hasApiKeys()],
    ['queue', () => o.queue.stats(RUN_TOPIC)],
    ...(o.breakers ?? []).map(({ breaker, probe }): [string, () => Promise<unknown>] => [
      breaker.name,
      async () => (breaker.state === 'closed' ? undefined : probe()),
    ]),
  ]
  return () => {
    if (!last || now() - last.at >= CACHE_MS) {
      last = {
        at: now(),
        failing: Promise.all(
          checks.map(async ([name, check]) => ((await answers(check)) ? undefined : name)),
        ).then((names) => names.filter((n): n is string => n !== undefined)),
      }
    }
    return last.failing
  }
}

async function answers(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), TIMEOUT_MS)
    timer.unref()
  })
  try {
    return await Promise.race([check().then(() => true), late])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
