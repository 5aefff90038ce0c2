export type Granularity = 'minute' | 'hour' | 'day'

export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day']

/** One counter's addition: to `metric` of the client's bucket of each granularity holding `at`. */
export interface CounterAdd {
  clientId: string
  metric: string
  /** When it happened (ms since the epoch). */
  at: number
  delta: number
}

/** One sketch's addition: `merge` gets the stored sketch (or none) and returns the new one. */
export interface SketchAdd {
  clientId: string
  kind: string
  at: number
  merge: (stored: Uint8Array | undefined) => Uint8Array
}

export interface CounterRow {
  clientId: string
  start: number
  metric: string
  value: number
}

export interface SketchRow {
  clientId: string
  start: number
  kind: string
  sketch: Uint8Array
}

export interface UsageQuery {
  /** One client's, or every client's when undefined. */
  clientId: string | undefined
  granularity: Granularity
  /** Buckets starting at or after `from` and before `to` (ms). */
  from: number
  to: number
}

/**
 * The usage statistics port: counters and latency sketches per client and time bucket, added to
 * together with the position in the event history they reflect, so a crash neither loses nor
 * repeats an event.
 */
export interface UsageStore {
  /** In one transaction: every addition, and the named cursor moved to `cursor`. */
  addUsage(
    counters: CounterAdd[],
    sketches: SketchAdd[],
    cursorName: string,
    cursor: number,
  ): Promise<void>
  usageCounters(query: UsageQuery): Promise<CounterRow[]>
  usageSketches(query: UsageQuery): Promise<SketchRow[]>
  /** Each of `metrics` summed over all time, for one client or every client. */
  usageTotals(
    clientId: string | undefined,
    metrics: readonly string[],
  ): Promise<Record<string, number>>
  /** Forgets every statistic and sets the cursor (a rebuild from the event history). */
  resetUsage(cursorName: string, cursor: number): Promise<void>
  /** Drops buckets of `granularity` that start before `before`. */
  pruneUsage(granularity: Granularity, before: number): Promise<number>
}

const SPAN: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }

/** The start (ms, UTC) of the bucket of `granularity` holding `at`. */
export function bucketStart(granularity: Granularity, at: number): number {
  return at - (at % SPAN[granularity])
}

export function bucketSpan(granularity: Granularity): number {
  return SPAN[granularity]
}
