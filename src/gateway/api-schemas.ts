import { JOB_REQUEST, type JobKind } from '../jobs/index.ts'
import { STEP_REQUEST } from '../pipelines/index.ts'
import { SCHEDULE_REQUEST } from '../schedules/index.ts'
import { PLAIN_COUNTS } from '../stats/index.ts'

export { JOB_REQUEST } from '../jobs/index.ts'
export { PIPELINE_REQUEST, RUN_REQUEST, STEP_REQUEST } from '../pipelines/index.ts'
export { SCHEDULE_REQUEST } from '../schedules/index.ts'
export { WEBHOOK_REQUEST } from '../webhooks/index.ts'
export { LEGACY_FILE_REQUEST } from './legacy-routes.ts'
export { REPAIR_REQUEST, STORAGE_NODE_REQUEST } from './storage-admin-routes.ts'

/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of what the API answers. Typed as literals,
 * so the CLI's client takes its types from them (`api-types.ts`, `FromSchema`), not from copies.
 */

const str = { type: 'string' } as const
const int = { type: 'integer' } as const
const num = { type: 'number' } as const
const bool = { type: 'boolean' } as const
const time = { type: 'string', format: 'date-time' } as const
const strings = { type: 'array', items: str } as const
const nullable = <const S extends object>(schema: S) =>
  ({ oneOf: [schema, { type: 'null' }] }) as const
const obj = <
  const P extends Record<string, object>,
  const R extends readonly (keyof P & string)[] = readonly [],
>(
  properties: P,
  required?: R,
) => ({ type: 'object', properties, required: (required ?? []) as R }) as const
const mapOf = <const S extends object>(value: S) =>
  ({ type: 'object', additionalProperties: value }) as const
const counts = mapOf(num)

const JOB_STATE = { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] } as const
const CODE_AND_MESSAGE = obj({ code: str, message: str }, ['code', 'message'])

export const ERROR = obj(
  { error: obj({ code: { ...str, pattern: '^E_' }, message: str }, ['code', 'message']) },
  ['error'],
)

export const FILE = obj(
  {
    name: str,
    size: int,
    sha256: { ...str, pattern: '^[0-9a-f]{64}$' },
    chunks: int,
    content_type: str,
    created: time,
  },
  ['name', 'size', 'sha256', 'chunks', 'content_type', 'created'],
)

export const JOB = obj(
  {
    id: str,
    type: str,
    state: JOB_STATE,
    input: str,
    inputs: strings,
    output: nullable(str),
    params: { type: 'object' },
    run: obj({ id: str, step: str, item: int, shard: int }, ['id', 'step', 'item']),
    created: time,
    updated: time,
    // What the kind measured; these four are what every kind that writes a file reports.
    result: nullable(obj({ input_size: int, output_size: int, ratio: num, duration_ms: int })),
    error: nullable(CODE_AND_MESSAGE),
  },
  ['id', 'type', 'state', 'input', 'output', 'created', 'updated', 'result', 'error'],
)

/** A step of a run: its state and its items (one per input, or one for a joining kind). */
export const RUN_STEP = obj(
  {
    state: { enum: ['waiting', 'running', 'succeeded', 'failed', 'skipped'] },
    items: int,
    done: int,
    failed: int,
    outputs: strings,
    jobs: strings,
    error: CODE_AND_MESSAGE,
  },
  ['state', 'items', 'done', 'failed'],
)

export const RUN = obj(
  {
    id: str,
    pipeline: str,
    version: int,
    state: JOB_STATE,
    inputs: strings,
    steps: mapOf(RUN_STEP),
    outputs: mapOf(strings),
    created: time,
    updated: time,
    result: nullable({ type: 'object' }),
    error: nullable(CODE_AND_MESSAGE),
  },
  ['id', 'pipeline', 'version', 'state', 'inputs', 'steps', 'outputs', 'error'],
)

/** A stored pipeline: its steps as sent, with every default filled in. */
export const PIPELINE = obj(
  {
    name: str,
    version: int,
    description: str,
    steps: mapOf(STEP_REQUEST),
    created: time,
  },
  ['name', 'version', 'steps', 'created'],
)

export const SCHEDULE = obj(
  {
    name: str,
    cron: str,
    timezone: str,
    pipeline: str,
    version: int,
    inputs: strings,
    prefix: str,
    missed: SCHEDULE_REQUEST.properties.missed,
    overlap: SCHEDULE_REQUEST.properties.overlap,
    paused: bool,
    next_tick: nullable(time),
    created: time,
    updated: time,
    ticks: {
      type: 'array',
      items: obj({ tick: time, state: str, run: nullable(str), error: nullable(str) }, [
        'tick',
        'state',
      ]),
    },
  },
  ['name', 'cron', 'timezone', 'pipeline', 'paused', 'next_tick'],
)

export const WEBHOOK = obj(
  {
    id: str,
    url: { ...str, format: 'uri' },
    events: strings,
    state: { enum: ['active', 'disabled'] },
    disabled_reason: str,
    failing_since: nullable(time),
    secret: { ...str, pattern: '^whsec_' },
    created: time,
    updated: time,
  },
  ['id', 'url', 'events', 'state'],
)

export const DELIVERY = obj({
  id: int,
  message_id: str,
  event: str,
  attempt: int,
  status: nullable(int),
  error: nullable(str),
  duration_ms: int,
  created: time,
})

/** The plain counts of the figures, one number each. */
const usageCounts = Object.fromEntries(PLAIN_COUNTS.map((name) => [name, num])) as {
  [K in (typeof PLAIN_COUNTS)[number]]: typeof num
}

/** The figures of one bucket, or of a whole span. */
export const USAGE_FIGURES = obj(
  {
    ...usageCounts,
    jobs_ended: num,
    jobs: mapOf(counts),
    runs: counts,
    images: counts,
    image_sizes: counts,
    compression: mapOf(
      obj({ bytes_in: num, bytes_out: num, ratio: num }, ['bytes_in', 'bytes_out', 'ratio']),
    ),
    latency_ms: mapOf(
      obj({ count: int, p50: num, p95: num, p99: num }, ['count', 'p50', 'p95', 'p99']),
    ),
  },
  [
    ...PLAIN_COUNTS,
    'jobs_ended',
    'jobs',
    'runs',
    'images',
    'image_sizes',
    'compression',
    'latency_ms',
  ],
)

export const USAGE = obj(
  {
    bucket: { enum: ['minute', 'hour', 'day'] },
    from: time,
    to: time,
    kind: str,
    buckets: {
      type: 'array',
      items: {
        allOf: [USAGE_FIGURES, obj({ start: time }, ['start'])],
      },
    },
    totals: USAGE_FIGURES,
    stored: obj({ bytes: num, files: num }, ['bytes', 'files']),
    behind: int,
  },
  ['bucket', 'from', 'to', 'buckets', 'totals', 'stored', 'behind'],
)

export const QUEUE_TOPICS = obj({
  topics: {
    type: 'array',
    items: obj({
      topic: str,
      messages: int,
      firstOffset: int,
      nextOffset: int,
      bytes: int,
      groups: {
        type: 'array',
        items: obj({ group: str, lag: int, pending: int, ackFloor: int }),
      },
    }),
  },
})

/**
 * `POST /v1/jobs`: one request shape per kind — the shape every job request is checked with
 * (`JOB_REQUEST`), its `params` the very schema the kind's params are checked with
 * (`KindRegistry` compiles the same objects).
 */
export function jobRequestSchema(kinds: readonly JobKind[]) {
  return {
    oneOf: kinds.map((kind) => ({
      ...JOB_REQUEST,
      properties: { ...JOB_REQUEST.properties, type: { const: kind.name }, params: kind.params },
    })),
  }
}

/** A page of a listing: `{[field]: items, next_cursor}`. */
export function page<const F extends string, const I extends object>(field: F, item: I) {
  return obj(
    { [field]: { type: 'array', items: item }, next_cursor: nullable(str) } as {
      [K in F]: { readonly type: 'array'; readonly items: I }
    } & { next_cursor: ReturnType<typeof nullable<typeof str>> },
    [field],
  )
}
