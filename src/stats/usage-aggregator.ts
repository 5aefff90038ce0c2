import type {
  CounterAdd,
  JobEvent,
  JobRecord,
  MetaStore,
  SketchAdd,
  UsageStore,
  WebhookStore,
} from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { imageFormat, imageSizeClass } from './image-classes.ts'
import { sketchWith } from './latency-sketch.ts'

/** The stats tailer's cursor in `event_cursors`. */
export const STATS_CURSOR = 'stats'
const PAGE = 500
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

export interface UsageAggregatorOptions {
  meta: Pick<MetaStore, 'jobEvents' | 'jobsById'>
  store: UsageStore & Pick<WebhookStore, 'eventCursor'>
  logger: Logger
}

/**
 * Keeps the usage statistics: reads the event history after its cursor and adds each event to
 * its client's counters (uploads and bytes in, downloads and bytes out, deletes, changes of the
 * bytes and files stored, bytes deduplication saved, images by format and size, jobs by kind and
 * state, runs by state, job input and output bytes) and latency sketches (a job's time from queued to its end, by
 * kind), in the transaction that moves the cursor. A crash before that commit counts nothing of
 * the batch, after it everything: no event is lost or counted twice, and `rebuild` recounts
 * the whole history. Run by one process of the cluster at a time.
 */
export class UsageAggregator {
  readonly #o: UsageAggregatorOptions

  constructor(options: UsageAggregatorOptions) {
    this.#o = options
  }

  /** Counts every event written since the last pass; how many events it read. */
  async pass(signal?: AbortSignal): Promise<number> {
    let cursor = (await this.#o.store.eventCursor(STATS_CURSOR)) ?? 0
    let read = 0
    while (!signal?.aborted) {
      const events = await this.#o.meta.jobEvents({ after: cursor, limit: PAGE })
      if (events.length === 0) break
      const counters: CounterAdd[] = []
      const latencies = new Map<
        string,
        { clientId: string; kind: string; at: number; values: number[] }
      >()
      // The jobs of the page's state changes, read in one statement rather than one each.
      const ids = new Set(
        events.filter((e) => e.type === 'state' && e.data.run !== true).map((e) => e.jobId),
      )
      const jobs = new Map<string, JobRecord>(
        (await this.#o.meta.jobsById([...ids])).map((job) => [job.id, job]),
      )
      for (const event of events) {
        this.#count(event, counters, latencies, jobs)
      }
      const sketches: SketchAdd[] = [...latencies.values()].map((l) => ({
        clientId: l.clientId,
        kind: l.kind,
        at: l.at,
        merge: (stored) => sketchWith(stored, l.values),
      }))
      cursor = events[events.length - 1]!.id
      await this.#o.store.addUsage(counters, sketches, STATS_CURSOR, cursor)
      read += events.length
      if (events.length < PAGE) break
    }
    if (read > 0) this.#o.logger.debug({ events: read, cursor }, 'usage statistics updated')
    return read
  }

  /** Forgets every statistic; the next passes count the whole event history again. */
  rebuild(): Promise<void> {
    return this.#o.store.resetUsage(STATS_CURSOR, 0)
  }

  #count(
    event: JobEvent,
    counters: CounterAdd[],
    latencies: Map<string, { clientId: string; kind: string; at: number; values: number[] }>,
    jobs: ReadonlyMap<string, JobRecord>,
  ): void {
    const add = (metric: string, delta = 1) => {
      if (delta !== 0) counters.push({ clientId: event.clientId, metric, at: event.created, delta })
    }
    const { data } = event
    if (event.type === 'download') {
      add('downloads')
      add('bytes_out', Number(data.bytes ?? 0))
      return
    }
    if (event.type === 'file') {
      countFile(data, add)
      return
    }
    if (event.type !== 'state') return
    const state = String(data.state)
    if (data.run === true) {
      add(`runs.${state}`)
      return
    }
    const job = jobs.get(event.jobId)
    // A job deleted since (its client's data removed) still counts, as a kind of its own.
    const kind = job?.type ?? 'unknown'
    add(`jobs.${kind}.${state}`)
    if (!TERMINAL.has(state) || !job) return
    const key = `${event.clientId}\0${kind}\0${Math.floor(event.created / 60_000)}`
    let latency = latencies.get(key)
    if (!latency) {
      latency = { clientId: event.clientId, kind, at: event.created, values: [] }
      latencies.set(key, latency)
    }
    latency.values.push(event.created - job.created)
    const result = data.result as { input_size?: number; output_size?: number } | null | undefined
    if (state === 'succeeded' && result?.input_size !== undefined) {
      add(`job_bytes_in.${kind}`, Number(result.input_size))
      add(`job_bytes_out.${kind}`, Number(result.output_size ?? 0))
    }
  }
}

/**
 * A `file` event's counts. Stored bytes and files are kept as changes (a replaced file's size
 * leaves as the new one's arrives), so their sum over every bucket is what is stored now.
 */
function countFile(data: Record<string, unknown>, add: (metric: string, delta?: number) => void) {
  const size = Number(data.size ?? 0)
  if (data.action !== 'created') {
    add('deletes')
    add('bytes_deleted', size)
    add('stored_bytes', -size)
    add('stored_files', -1)
    return
  }
  add('uploads')
  add('bytes_in', size)
  add('bytes_deduplicated', Number(data.deduplicated ?? 0))
  add('stored_bytes', size - Number(data.replacedSize ?? 0))
  if (data.replaced !== true) add('stored_files', 1)
  const format = imageFormat(String(data.contentType ?? ''))
  if (format) {
    add(`images.${format}`)
    add(`image_sizes.${imageSizeClass(size)}`)
  }
}
