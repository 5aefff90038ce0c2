/** Best wall time of `runs` calls (after one warm-up), in milliseconds. */
export async function bestOf<T>(
  runs: number,
  fn: () => T | Promise<T>,
): Promise<{ ms: number; result: T }> {
  let result = await fn()
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    result = await fn()
    best = Math.min(best, performance.now() - start)
  }
  return { ms: best, result }
}

/** The middle value (the upper one of an even count), as the benches report rounds. */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000)
}

/** Prints rows as an aligned text table; the first row is the header. */
export function printTable(rows: (string | number)[][]): void {
  const text = rows.map((row) =>
    row.map((cell) => (typeof cell === 'number' ? cell.toFixed(cell < 10 ? 2 : 0) : cell)),
  )
  const widths = text[0]!.map((_, col) => Math.max(...text.map((row) => row[col]!.length)))
  for (const [i, row] of text.entries()) {
    console.log(
      row
        .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
        .join('  '),
    )
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
