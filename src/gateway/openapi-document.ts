import pkg from '../../package.json' with { type: 'json' }
import type { KindRegistry } from '../jobs/index.ts'
import { apiRoutes, type RouteDoc } from './api-routes.ts'
import * as S from './api-schemas.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

/** Health answers, served before routing (see health.ts). */
const HEALTH_PATHS = ['/healthz', '/livez', '/readyz']

/** `GET /v1/openapi.json`: the description of what this gateway serves, for anyone. */
export function openApiRoute(router: Router, kinds: KindRegistry | undefined): void {
  const docs = apiRoutes(S.jobRequestSchema(kinds?.all ?? []))
  router.on('GET', '/v1/openapi.json', async ({ res }) => {
    const health = HEALTH_PATHS.map((pattern) => ({ method: 'GET', pattern }))
    sendJson(res, 200, openApiDocument([...router.list(), ...health], docs))
  })
}

/** Schemas the document names in `components` and refers to wherever they appear. */
const NAMED = new Map<object, string>([
  [S.ERROR, 'Error'],
  [S.FILE, 'File'],
  [S.JOB, 'Job'],
  [S.RUN, 'Run'],
  [S.RUN_STEP, 'RunStep'],
  [S.PIPELINE, 'Pipeline'],
  [S.STEP_REQUEST, 'Step'],
  [S.SCHEDULE, 'Schedule'],
  [S.WEBHOOK, 'Webhook'],
  [S.DELIVERY, 'Delivery'],
  [S.USAGE, 'Usage'],
  [S.USAGE_FIGURES, 'UsageFigures'],
])

/** `schema` with every named schema inside it (but `self`) replaced by a `$ref` to it. */
function withRefs(schema: unknown, self?: object): unknown {
  if (typeof schema !== 'object' || schema === null) return schema
  const name = schema === self ? undefined : NAMED.get(schema)
  if (name) return { $ref: `#/components/schemas/${name}` }
  if (Array.isArray(schema)) return schema.map((item) => withRefs(item))
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withRefs(v)]))
}

/**
 * The OpenAPI 3.1 description of the routes the router serves, from their `RouteDoc`s. Routes
 * served but not described are listed under `x-undocumented`; descriptions of routes not served
 * (a feature off in this process) are left out.
 */
export function openApiDocument(
  served: readonly { method: string; pattern: string }[],
  docs: readonly RouteDoc[],
) {
  const isServed = (doc: RouteDoc) =>
    served.some((r) => r.method === doc.method && r.pattern === doc.pattern)
  const paths: Record<string, Record<string, unknown>> = {}
  for (const doc of docs.filter(isServed)) {
    paths[doc.path] ??= {}
    paths[doc.path]![doc.method.toLowerCase()] = operation(doc)
  }
  const undocumented = served
    .filter((r) => !docs.some((d) => d.method === r.method && d.pattern === r.pattern))
    .map((r) => `${r.method} ${r.pattern}`)
  return {
    openapi: '3.1.0',
    info: {
      title: 'Piper',
      version: pkg.version,
      description:
        'Stores and processes files at any size. Errors are {"error": {"code", "message"}} with the codes of docs/errors.md.',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (piper keys create)' },
      },
      schemas: Object.fromEntries(
        [...NAMED].map(([schema, name]) => [name, withRefs(schema, schema)]),
      ),
    },
    paths,
    ...(undocumented.length > 0 ? { 'x-undocumented': undocumented } : {}),
  }
}

function operation(doc: RouteDoc) {
  const params = [...doc.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }))
  const query = Object.entries(doc.query ?? {}).map(([name, description]) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema: { type: 'string' },
  }))
  const responses: Record<string, unknown> = {}
  for (const [status, [description, body]] of Object.entries(doc.responses)) {
    responses[status] = {
      description,
      ...(body === undefined
        ? {}
        : {
            content:
              typeof body === 'string'
                ? { [body]: {} }
                : { 'application/json': { schema: withRefs(body) } },
          }),
    }
  }
  responses.default = {
    description: 'An error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  }
  return {
    summary: doc.summary,
    tags: [doc.tag],
    operationId: `${doc.method.toLowerCase()}${doc.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(doc.access === 'none' ? { security: [] } : { security: [{ apiKey: [] }] }),
    ...(doc.access === 'admin' ? { description: 'Administrators only (adminClients).' } : {}),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content:
              'json' in doc.body
                ? { 'application/json': { schema: withRefs(doc.body.json) } }
                : Object.fromEntries(doc.body.raw.map((type) => [type, {}])),
          },
        }
      : {}),
    responses,
  }
}
