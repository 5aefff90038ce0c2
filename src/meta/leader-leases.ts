/**
 * The leader leases port: which process runs a singleton task (a repair pass, a sweep) now. A
 * holder keeps its lease by renewing it before it ends; a lease that ran out (its holder died)
 * goes to the next process that asks. Split from `MetaStore`; the SQL adapters keep it in the
 * same database, with the database's clock on PostgreSQL (processes' clocks do not matter).
 */
export interface LeaderLeases {
  /** Takes or renews the lease of `name` for `ttlMs`; true when `holder` now leads. */
  lead(name: string, holder: string, ttlMs: number): Promise<boolean>
  /** Who holds the lease now, if anyone. */
  holderOf(name: string): Promise<string | undefined>
  /** Gives the lease up (when `holder` has it). */
  resign(name: string, holder: string): Promise<void>
}
