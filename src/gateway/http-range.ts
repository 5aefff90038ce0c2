import type { ByteRange } from '../blobs/index.ts'

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110 §14.1.2).
 * Returns the single satisfiable range; `'unsatisfiable'` (→ 416); or undefined when the header
 * is absent, not a bytes range, malformed, or asks for several ranges — all of which a server may
 * answer with the whole representation (§14.2).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!match) return undefined
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '' && last === '') return undefined
  if (first === '') {
    // A suffix range: the last N bytes (§14.1.2); N = 0 can never be satisfied.
    const length = Number(last)
    if (length === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - length), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (last !== '' && Number(last) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}
