const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  kib: 1024,
  m: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gib: 1 << 30,
  t: 2 ** 40,
  tib: 2 ** 40,
}

/** Parses a byte size: `1048576`, `64K`, `1M`, `1MiB`, `2g`, `1T` (binary multiples). */
export function parseSize(text: string, what: string): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined
  if (!match || unit === undefined) {
    throw new Error(`${what} must be a size like 1048576, 64K or 1M, got "${text}"`)
  }
  return Number(match[1]) * unit
}
