import { JOB_REQUEST, type JobKind } from '../jobs/index.ts'
import { STEP_REQUEST } from '../pipelines/index.ts'

export { PIPELINE_REQUEST, RUN_REQUEST } from '../pipelines/index.ts'
export { SCHEDULE_REQUEST } from '../schedules/index.ts'
export { WEBHOOK_REQUEST } from '../webhooks/index.ts'
export { LEGACY_FILE_REQUEST } from './legacy-routes.ts'
export { REPAIR_REQUEST, STORAGE_NODE_REQUEST } from './storage-admin-routes.ts'

/** JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of what the API answers and takes. */

const str = { type: 'string' } as const
const int = { type: 'integer' } as const
const time = { type: 'string', format: 'date-time' } as const
const nullable = (schema: object) => ({ oneOf: [schema, { type: 'null' }] })
const obj = (properties: Record<string, object>, required: string[] = []) => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
})

const JOB_STATE = { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }

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
  ['name', 'size', 'sha256', 'content_type', 'created'],
)

export const JOB = obj(
  {
    id: str,
    type: str,
    state: JOB_STATE,
    input: str,
    inputs: { type: 'array', items: str },
    output: nullable(str),
    params: { type: 'object' },
    run: obj({ id: str, step: str, item: int, shard: int }),
    created: time,
    updated: time,
    result: nullable({ type: 'object' }),
    error: nullable(obj({ code: str, message: str })),
  },
  ['id', 'type', 'state', 'input', 'created'],
)

export const RUN = obj(
  {
    id: str,
    pipeline: str,
    version: int,
    state: JOB_STATE,
    inputs: { type: 'array', items: str },
    steps: { type: 'object', additionalProperties: { type: 'object' } },
    outputs: { type: 'object', additionalProperties: { type: 'array', items: str } },
    created: time,
    updated: time,
    result: nullable({ type: 'object' }),
    error: nullable({ type: 'object' }),
  },
  ['id', 'pipeline', 'state'],
)

/** A stored pipeline: its steps as sent, with every default filled in. */
export const PIPELINE = obj(
  {
    name: str,
    version: int,
    description: str,
    steps: { type: 'object', additionalProperties: STEP_REQUEST },
    created: time,
  },
  ['name', 'version', 'steps'],
)

export const SCHEDULE = obj(
  {
    name: str,
    cron: str,
    timezone: str,
    pipeline: str,
    paused: { type: 'boolean' },
    next_tick: nullable(time),
  },
  ['name', 'cron', 'pipeline'],
)

export const WEBHOOK = obj(
  {
    id: str,
    url: { ...str, format: 'uri' },
    events: { type: 'array', items: str },
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

export const USAGE = obj(
  {
    bucket: { enum: ['minute', 'hour', 'day'] },
    from: time,
    to: time,
    buckets: { type: 'array', items: { type: 'object' } },
    totals: { type: 'object' },
    behind: int,
  },
  ['bucket', 'buckets', 'totals'],
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
export function page(field: string, item: object) {
  return obj({ [field]: { type: 'array', items: item }, next_cursor: nullable(str) }, [field])
}
