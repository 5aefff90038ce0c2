import {
  bucketSpan,
  bucketStart,
  type CounterRow,
  GRANULARITIES,
  type Granularity,
  type SketchRow,
  type UsageStore,
} from '../meta/index.ts'
import { StatsError } from './errors.ts'
import { quantiles } from './latency-sketch.ts'
import { STATS_CURSOR } from './usage-aggregator.ts'

/** The most buckets one answer holds. */
const MAX_BUCKETS = 1500
/** How long buckets of each granularity are kept (older ones are pruned). */
export const USAGE_RETENTION_MS: Record<Granularity, number> = {
  minute: 2 * 86_400_000,
  hour: 92 * 86_400_000,
  day: Number.POSITIVE_INFINITY,
}

export interface UsageParams {
  granularity: Granularity
  from: number
  to: number
  kind: string | undefined
}

/** `?from&to&bucket&kind` of `GET /v1/stats`: the last day by hour unless told otherwise. */
export function parseUsageParams(search: URLSearchParams, now = Date.now()): UsageParams {
  const bucket = search.get('bucket') ?? 'hour'
  if (!(GRANULARITIES as readonly string[]).includes(bucket)) {
    throw new StatsError('E_STATS_REQUEST', `bucket must be one of ${GRANULARITIES.join(', ')}`)
  }
  const granularity = bucket as Granularity
  const time = (name: string, fallback: number) => {
    const raw = search.get(name)
    if (raw === null) return fallback
    const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw)
    if (!Number.isFinite(ms)) {
      throw new StatsError('E_STATS_REQUEST', `${name} must be an ISO 8601 time or milliseconds`)
    }
    return ms
  }
  const to = time('to', now)
  const from = bucketStart(granularity, time('from', to - 86_400_000))
  if (from >= to) throw new StatsError('E_STATS_REQUEST', 'from must be before to')
  if ((to - from) / bucketSpan(granularity) > MAX_BUCKETS) {
    throw new StatsError(
      'E_STATS_REQUEST',
      `that is more than ${MAX_BUCKETS} ${granularity} buckets: use a larger bucket or a shorter span`,
    )
  }
  const kind = search.get('kind') ?? undefined
  return { granularity, from, to, kind }
}

type Figures = ReturnType<typeof emptyFigures>

const STORED = ['stored_bytes', 'stored_files'] as const

/** Counters shown as they are (the API's schema of the figures names the same list). */
export const PLAIN_COUNTS = [
  'uploads',
  'bytes_in',
  'downloads',
  'bytes_out',
  'deletes',
  'bytes_deleted',
  'bytes_deduplicated',
  // Changes: a bucket's sum is what it added to (or took from) what is stored.
  'stored_bytes',
  'stored_files',
] as const
const COUNTS = new Set<string>(PLAIN_COUNTS)

function emptyFigures() {
  return {
    ...(Object.fromEntries(PLAIN_COUNTS.map((name) => [name, 0])) as Record<
      (typeof PLAIN_COUNTS)[number],
      number
    >),
    jobs_ended: 0,
    jobs: {} as Record<string, Record<string, number>>,
    runs: {} as Record<string, number>,
    /** Image files stored (uploaded or made by jobs), by format and by size class. */
    images: {} as Record<string, number>,
    image_sizes: {} as Record<string, number>,
    compression: {} as Record<string, { bytes_in: number; bytes_out: number; ratio: number }>,
    latency_ms: {} as Record<string, { count: number; p50: number; p95: number; p99: number }>,
  }
}

/**
 * Adds one counter row to figures; `kind` keeps only that kind's jobs. A metric is its name,
 * then what it counts: `jobs.KIND.STATE`, `job_bytes_in.KIND`, `runs.STATE`, … — a kind may
 * hold dots itself (`image.detect`), so it is what lies between the name and the state.
 */
function addRow(f: Figures, row: CounterRow, kind: string | undefined): void {
  const dot = row.metric.indexOf('.')
  const name = dot < 0 ? row.metric : row.metric.slice(0, dot)
  const rest = dot < 0 ? '' : row.metric.slice(dot + 1)
  if ((name === 'runs' || name === 'images' || name === 'image_sizes') && rest) {
    f[name][rest] = (f[name][rest] ?? 0) + row.value
  } else if (name === 'jobs') {
    const last = rest.lastIndexOf('.')
    if (last > 0) addJobs(f, rest.slice(0, last), rest.slice(last + 1), row.value, kind)
  } else if ((name === 'job_bytes_in' || name === 'job_bytes_out') && rest) {
    addCompression(f, rest, name === 'job_bytes_in' ? 'bytes_in' : 'bytes_out', row.value, kind)
  } else if (COUNTS.has(name)) {
    f[name as (typeof PLAIN_COUNTS)[number]] += row.value
  }
}

function addJobs(f: Figures, jobKind: string, state: string, n: number, kind?: string): void {
  if (kind !== undefined && jobKind !== kind) return
  const counts = f.jobs[jobKind] ?? {}
  f.jobs[jobKind] = counts
  counts[state] = (counts[state] ?? 0) + n
  if (state === 'succeeded' || state === 'failed' || state === 'cancelled') f.jobs_ended += n
}

function addCompression(
  f: Figures,
  jobKind: string,
  side: 'bytes_in' | 'bytes_out',
  n: number,
  kind?: string,
): void {
  if (kind !== undefined && jobKind !== kind) return
  const c = f.compression[jobKind] ?? { bytes_in: 0, bytes_out: 0, ratio: 0 }
  f.compression[jobKind] = c
  c[side] += n
  c.ratio = c.bytes_in === 0 ? 0 : Math.round((c.bytes_out / c.bytes_in) * 10_000) / 10_000
}

function addLatencies(f: Figures, rows: readonly SketchRow[], kind: string | undefined): void {
  const byKind = new Map<string, Uint8Array[]>()
  for (const row of rows) {
    if (kind !== undefined && row.kind !== kind) continue
    byKind.set(row.kind, [...(byKind.get(row.kind) ?? []), row.sketch])
  }
  for (const [k, sketches] of byKind) {
    const q = quantiles(sketches, [0.5, 0.95, 0.99])
    if (!q) continue
    const [p50, p95, p99] = q.values.map((v) => Math.round(v))
    f.latency_ms[k] = { count: q.count, p50: p50!, p95: p95!, p99: p99! }
  }
}

/**
 * The usage of one client (or of all, for administrators) in buckets, with the totals of the
 * span; latency percentiles come from merging the buckets' sketches, not from averaging them.
 */
export async function usageReport(
  store: UsageStore & { eventCursor(name: string): Promise<number | undefined> },
  latestEvent: () => Promise<number>,
  clientId: string | undefined,
  params: UsageParams,
) {
  const query = { clientId, granularity: params.granularity, from: params.from, to: params.to }
  const [counters, sketches, counted, latest, stored] = await Promise.all([
    store.usageCounters(query),
    store.usageSketches(query),
    store.eventCursor(STATS_CURSOR),
    latestEvent(),
    store.usageTotals(clientId, STORED),
  ])
  const buckets = new Map<number, Figures>()
  const totals = emptyFigures()
  const figuresAt = (start: number) => {
    let f = buckets.get(start)
    if (!f) {
      f = emptyFigures()
      buckets.set(start, f)
    }
    return f
  }
  for (const row of counters) {
    addRow(figuresAt(row.start), row, params.kind)
    addRow(totals, row, params.kind)
  }
  const sketchesAt = new Map<number, SketchRow[]>()
  for (const row of sketches) sketchesAt.set(row.start, [...(sketchesAt.get(row.start) ?? []), row])
  for (const [start, rows] of sketchesAt) addLatencies(figuresAt(start), rows, params.kind)
  addLatencies(totals, sketches, params.kind)
  return {
    bucket: params.granularity,
    from: new Date(params.from).toISOString(),
    to: new Date(params.to).toISOString(),
    ...(params.kind === undefined ? {} : { kind: params.kind }),
    buckets: [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([start, f]) => ({ start: new Date(start).toISOString(), ...f })),
    totals,
    // What is stored now (as of the last event counted), whatever the span: the sum of every
    // change since the first upload.
    stored: { bytes: stored.stored_bytes ?? 0, files: stored.stored_files ?? 0 },
    // Events of the history not counted yet (all clients'): 0 once the figures are current.
    behind: Math.max(0, latest - (counted ?? 0)),
  }
}
