/**
 * Calls `fn` on each item, `lanes` calls at a time, taking the items in order: the round trips of
 * calls to a store or a queue overlap instead of adding up, and no more than `lanes` are open at
 * once. Takes no new item once `signal` aborts or a call returns `false`; the first error ends
 * it (calls already under way finish first).
 */
export async function inLanes<T>(
  items: Iterable<T>,
  lanes: number,
  fn: (item: T) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const next = items[Symbol.iterator]()
  let stop = false
  const lane = async () => {
    while (!stop && !signal?.aborted) {
      const item = next.next()
      if (item.done) return
      try {
        if ((await fn(item.value)) === false) stop = true
      } catch (error) {
        stop = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane))
}
