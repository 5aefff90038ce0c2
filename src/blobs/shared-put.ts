import type { PutResult } from './blob-store.ts'

/**
 * Concurrent puts of one key in a process share the first: a later one keeps its own bytes,
 * waits, and reports `created: false` — or, should the first fail, puts its bytes itself. For
 * network stores, where two uploads of the same chunk would cost twice for nothing.
 */
export function sharedPut(
  running: Map<string, Promise<PutResult>>,
  key: string,
  source: Uint8Array | AsyncIterable<Uint8Array>,
  put: (source: Uint8Array | AsyncIterable<Uint8Array>) => Promise<PutResult>,
): Promise<PutResult> {
  const first = running.get(key)
  if (first) {
    return (async () => {
      const bytes = await gather(source)
      const result = await first.catch(() => undefined)
      return result ? { created: false, size: result.size } : sharedPut(running, key, bytes, put)
    })()
  }
  const putting = put(source).finally(() => running.delete(key))
  running.set(key, putting)
  return putting
}

/** The source in one buffer of the caller's own (`new Uint8Array(x)` copies; a Buffer's `slice()` would not). */
export async function gather(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return new Uint8Array(source)
  const pieces: Uint8Array[] = []
  let size = 0
  for await (const piece of source) {
    pieces.push(new Uint8Array(piece))
    size += piece.length
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const piece of pieces) {
    out.set(piece, at)
    at += piece.length
  }
  return out
}
