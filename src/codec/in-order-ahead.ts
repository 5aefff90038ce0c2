/**
 * Starts `start(item)` for each item of `source` and yields the results in source order,
 * with at most `limit` tasks started whose results have not been yielded yet (plus the result on
 * its way to the consumer).
 *
 * The source is pulled by a loop of its own, not by the consumer: while the consumer handles one
 * result (writes it to a file, say), the next input is read and its task started. Pulled by the
 * consumer, every read waited for the write before it and every write for the read before it,
 * and the pool's threads sat idle through both (decompressing with two threads was no faster
 * than with one).
 *
 * Errors come in order: a failed task when its turn comes, a failing source after every task
 * started before it. A consumer that stops early stops the loop (after the pull it is in).
 */
export async function* inOrderAhead<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  start: (item: T) => Promise<R>,
  limit: number,
): AsyncGenerator<R> {
  const iterator = toAsyncIterator(source)
  const tasks: Promise<R>[] = []
  let ended = false
  let failure: { error: unknown } | undefined
  let stopped = false
  let wakeProducer: (() => void) | undefined
  let wakeConsumer: (() => void) | undefined
  const wake = (which: 'producer' | 'consumer') => {
    const resolve = which === 'producer' ? wakeProducer : wakeConsumer
    if (which === 'producer') wakeProducer = undefined
    else wakeConsumer = undefined
    resolve?.()
  }
  const producer = (async () => {
    try {
      for (;;) {
        while (tasks.length >= limit && !stopped) {
          await new Promise<void>((resolve) => {
            wakeProducer = resolve
          })
        }
        if (stopped) return
        const next = await iterator.next()
        if (next.done || stopped) return
        const task = start(next.value)
        // Raised when its turn comes; unobserved until then, it must not end the process.
        task.catch(() => {})
        tasks.push(task)
        wake('consumer')
      }
    } catch (error) {
      failure = { error }
    } finally {
      ended = true
      wake('consumer')
    }
  })()
  try {
    for (;;) {
      const task = tasks[0]
      if (task) {
        const result = await task
        tasks.shift()
        wake('producer')
        yield result
        continue
      }
      if (ended) {
        if (failure) throw failure.error
        return
      }
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve
      })
    }
  } finally {
    stopped = true
    wake('producer')
    await producer
    await iterator.return?.()
  }
}

function toAsyncIterator<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]()
  const sync = source[Symbol.iterator]()
  return {
    next: async () => sync.next(),
    return: async () => sync.return?.() ?? { done: true, value: undefined },
  }
}
