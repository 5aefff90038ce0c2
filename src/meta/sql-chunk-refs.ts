import type { SqlExecutor } from './sql-driver.ts'

/** Drops one reference per occurrence of each key; returns the keys left at zero. */
export async function releaseChunks(tx: SqlExecutor, keys: readonly string[]): Promise<string[]> {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
  const unreferenced: string[] = []
  for (const [key, n] of counts) {
    const rows = await tx.all('UPDATE chunks SET refs = refs - $1 WHERE key = $2 RETURNING refs', [
      n,
      key,
    ])
    if (Number(rows[0]?.refs) === 0) unreferenced.push(key)
  }
  return unreferenced
}

/** Adds one reference per occurrence of each key (the chunks exist: another upload holds them). */
export async function referenceChunks(tx: SqlExecutor, keys: readonly string[]): Promise<void> {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
  for (const [key, n] of counts) {
    await tx.run('UPDATE chunks SET refs = refs + $1 WHERE key = $2', [n, key])
  }
}
