/** A binary min-heap of items ordered by a numeric key (a due time), for timers and retries. */
export class MinHeap<T> {
  readonly #keys: number[] = []
  readonly #items: T[] = []

  get size(): number {
    return this.#keys.length
  }

  /** The smallest key, or Infinity when empty. */
  peekKey(): number {
    return this.#keys[0] ?? Number.POSITIVE_INFINITY
  }

  push(key: number, item: T): void {
    const keys = this.#keys
    const items = this.#items
    let i = keys.length
    keys.push(key)
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (keys[parent]! <= key) break
      keys[i] = keys[parent]!
      items[i] = items[parent]!
      i = parent
    }
    keys[i] = key
    items[i] = item
  }

  /** Removes and returns the item with the smallest key. */
  pop(): T | undefined {
    const keys = this.#keys
    const items = this.#items
    if (keys.length === 0) return undefined
    const top = items[0]
    const lastKey = keys.pop()!
    const lastItem = items.pop()!
    const n = keys.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const child = left + 1 < n && keys[left + 1]! < keys[left]! ? left + 1 : left
        if (keys[child]! >= lastKey) break
        keys[i] = keys[child]!
        items[i] = items[child]!
        i = child
      }
      keys[i] = lastKey
      items[i] = lastItem
    }
    return top
  }
}
