import * as S from './api-schemas.ts'

/** Who may call a route: any client (an API key once keys exist), administrators, anyone. */
export type Access = 'client' | 'admin' | 'none'

/** One operation of the API as OpenAPI describes it. */
export interface RouteDoc {
  method: string
  /** The OpenAPI path, with `{name}` parameters. */
  path: string
  /** The router pattern that serves it (`/v1/jobs/*` serves `/v1/jobs/{id}/retry` too). */
  pattern: string
  summary: string
  tag: string
  access: Access
  query?: Record<string, string>
  /** A JSON body (its schema), or the content types of a raw one. */
  body?: { json: object } | { raw: string[] }
  /** Status → description, with the answer's JSON schema or content type. */
  responses: Record<number, readonly [string, (object | string)?]>
  /** A Server-Sent Events stream. */
  sse?: boolean
}

const ok = (description: string, schema?: object | string): RouteDoc['responses'] => ({
  200: [description, schema],
})

/**
 * Every route of the API. `/v1/openapi.json` is built from this table and the router: a route
 * the router serves that this table does not describe is listed under `x-undocumented` (a test
 * keeps it empty), so the description cannot drift from the routes.
 */
export function apiRoutes(jobRequest: object): RouteDoc[] {
  return [
    // Files
    {
      method: 'PUT',
      path: '/v1/files/{name}',
      pattern: '/v1/files/*',
      summary:
        'Upload a file (streamed, any size); `then=KIND` or `pipeline=NAME` starts a job or run on it',
      tag: 'files',
      access: 'client',
      // A parameter named `then`, built from entries (an object literal with `then` is thenable).
      query: Object.fromEntries([
        ['then', 'a job kind to run on the file'],
        ['pipeline', 'a pipeline to run on the file'],
      ]),
      body: { raw: ['application/octet-stream', '*/*'] },
      responses: { 201: ['Stored', S.FILE], 413: ['Over a quota or limit', S.ERROR] },
    },
    {
      method: 'GET',
      path: '/v1/files/{name}',
      pattern: '/v1/files/*',
      summary:
        'Download a file: ETag, Range, If-None-Match; image variants by query (w, h, fit, format, q)',
      tag: 'files',
      access: 'client',
      query: {
        w: 'width',
        h: 'height',
        fit: 'fit',
        format: 'format',
        q: 'quality',
        inline: '1: display',
      },
      responses: {
        200: ['The bytes', 'application/octet-stream'],
        206: ['A range', 'application/octet-stream'],
        304: ['Not modified'],
        404: ['No such file', S.ERROR],
      },
    },
    {
      method: 'GET',
      path: '/v1/files/{name}/duplicates',
      pattern: '/v1/files/*',
      summary: "An image's near-duplicates",
      tag: 'images',
      access: 'client',
      query: { distance: 'largest Hamming distance' },
      responses: ok('Duplicates', { type: 'object' }),
    },
    {
      method: 'DELETE',
      path: '/v1/files/{name}',
      pattern: '/v1/files/*',
      summary: 'Delete a file',
      tag: 'files',
      access: 'client',
      responses: { 204: ['Deleted'], 404: ['No such file', S.ERROR] },
    },
    {
      method: 'GET',
      path: '/v1/files',
      pattern: '/v1/files',
      summary: "List the client's files by name",
      tag: 'files',
      access: 'client',
      query: { prefix: 'names starting so', limit: 'page size', cursor: 'next_cursor' },
      responses: ok('A page', S.page('files', S.FILE)),
    },
    {
      method: 'POST',
      path: '/v1/files',
      pattern: '/v1/files',
      summary: 'Upload files as multipart/form-data',
      tag: 'files',
      access: 'client',
      body: { raw: ['multipart/form-data'] },
      responses: {
        201: [
          'Stored',
          { type: 'object', properties: { files: { type: 'array', items: S.FILE } } },
        ],
      },
    },
    // Resumable uploads
    ...['/v1/tus', '/v1/tus/'].flatMap((path): RouteDoc[] => [
      {
        method: 'OPTIONS',
        path,
        pattern: path,
        summary: 'tus 1.0: versions, extensions, checksum algorithms',
        tag: 'tus',
        access: 'none',
        responses: { 204: ['Tus-Version, Tus-Extension, Tus-Checksum-Algorithm'] },
      },
      {
        method: 'POST',
        path,
        pattern: path,
        summary: 'tus 1.0 creation (with upload, deferred length, concatenation)',
        tag: 'tus',
        access: 'client',
        body: { raw: ['application/offset+octet-stream'] },
        responses: { 201: ['Created: Location, Upload-Offset, Upload-Expires'] },
      },
    ]),
    ...(
      [
        ['OPTIONS', 'tus 1.0: versions and extensions', { 204: ['Tus-Version, Tus-Extension'] }],
        ['HEAD', 'tus 1.0: the offset', { 200: ['Upload-Offset, Upload-Length, Upload-Expires'] }],
        [
          'PATCH',
          'tus 1.0: append at Upload-Offset',
          { 204: ['Stored: Upload-Offset'], 409: ['Wrong offset'], 460: ['Checksum mismatch'] },
        ],
        ['DELETE', 'tus 1.0 termination', { 204: ['Freed'] }],
        ['POST', 'X-HTTP-Method-Override: PATCH, DELETE or HEAD', { 204: ['As the method meant'] }],
      ] as const
    ).map(
      ([method, summary, responses]): RouteDoc => ({
        method,
        path: '/v1/tus/{id}',
        pattern: '/v1/tus/*',
        summary,
        tag: 'tus',
        access: method === 'OPTIONS' ? 'none' : 'client',
        ...(method === 'PATCH' ? { body: { raw: ['application/offset+octet-stream'] } } : {}),
        responses,
      }),
    ),
    // Jobs
    {
      method: 'POST',
      path: '/v1/jobs',
      pattern: '/v1/jobs',
      summary: 'Start a job (Idempotency-Key honoured)',
      tag: 'jobs',
      access: 'client',
      body: { json: jobRequest },
      responses: { 202: ['Queued', S.JOB], 400: ['Bad request', S.ERROR] },
    },
    {
      method: 'GET',
      path: '/v1/jobs',
      pattern: '/v1/jobs',
      summary: "List the client's jobs",
      tag: 'jobs',
      access: 'client',
      query: {
        state: 'one state',
        order: 'oldest (default) or newest first',
        limit: 'page size',
        cursor: 'next_cursor',
      },
      responses: ok('A page', S.page('jobs', S.JOB)),
    },
    {
      method: 'GET',
      path: '/v1/jobs/{id}',
      pattern: '/v1/jobs/*',
      summary: 'A job',
      tag: 'jobs',
      access: 'client',
      responses: ok('The job', S.JOB),
    },
    {
      method: 'GET',
      path: '/v1/jobs/{id}/events',
      pattern: '/v1/jobs/*',
      summary: "A job's events, live (Last-Event-ID resumes)",
      tag: 'jobs',
      access: 'client',
      sse: true,
      responses: ok('Server-Sent Events: state, progress', 'text/event-stream'),
    },
    ...['retry', 'cancel'].map(
      (action): RouteDoc => ({
        method: 'POST',
        path: `/v1/jobs/{id}/${action}`,
        pattern: '/v1/jobs/*',
        summary: action === 'retry' ? 'Retry a failed job' : 'Cancel a job',
        tag: 'jobs',
        access: 'client',
        responses: ok('The job', S.JOB),
      }),
    ),
    {
      method: 'DELETE',
      path: '/v1/jobs/{id}',
      pattern: '/v1/jobs/*',
      summary: 'Cancel a job',
      tag: 'jobs',
      access: 'client',
      responses: ok('The job', S.JOB),
    },
    {
      method: 'GET',
      path: '/v1/events',
      pattern: '/v1/events',
      summary: "Every event of the client's jobs, runs and files, live",
      tag: 'jobs',
      access: 'client',
      sse: true,
      responses: ok('Server-Sent Events', 'text/event-stream'),
    },
    {
      method: 'GET',
      path: '/v1/kinds',
      pattern: '/v1/kinds',
      summary: 'The job kinds and their params schemas',
      tag: 'jobs',
      access: 'client',
      responses: ok('Kinds', { type: 'object' }),
    },
    {
      method: 'GET',
      path: '/v1/dlq',
      pattern: '/v1/dlq',
      summary: 'Dead-letter topics of job tasks',
      tag: 'jobs',
      access: 'client',
      responses: ok('Topics', { type: 'object' }),
    },
    {
      method: 'POST',
      path: '/v1/dlq/{topic}/redrive',
      pattern: '/v1/dlq/*',
      summary: "Retry the client's dead-lettered jobs of a topic",
      tag: 'jobs',
      access: 'client',
      responses: ok('Redriven and skipped', { type: 'object' }),
    },
    // Pipelines and runs
    {
      method: 'POST',
      path: '/v1/pipelines',
      pattern: '/v1/pipelines',
      summary: 'Store a pipeline (the next version of its name)',
      tag: 'pipelines',
      access: 'client',
      body: { json: S.PIPELINE_REQUEST },
      responses: { 201: ['Stored', S.PIPELINE], 400: ['Invalid', S.ERROR] },
    },
    {
      method: 'GET',
      path: '/v1/pipelines',
      pattern: '/v1/pipelines',
      summary: "The client's pipelines",
      tag: 'pipelines',
      access: 'client',
      responses: ok('A page', S.page('pipelines', S.PIPELINE)),
    },
    {
      method: 'GET',
      path: '/v1/pipelines/{name}',
      pattern: '/v1/pipelines/*',
      summary: 'A pipeline (its latest version, or ?version=)',
      tag: 'pipelines',
      access: 'client',
      query: { version: 'a version' },
      responses: ok('The pipeline', S.PIPELINE),
    },
    {
      method: 'DELETE',
      path: '/v1/pipelines/{name}',
      pattern: '/v1/pipelines/*',
      summary: 'Delete a pipeline',
      tag: 'pipelines',
      access: 'client',
      responses: { 204: ['Deleted'] },
    },
    {
      method: 'POST',
      path: '/v1/runs',
      pattern: '/v1/runs',
      summary: 'Start a run of a pipeline',
      tag: 'pipelines',
      access: 'client',
      body: { json: S.RUN_REQUEST },
      responses: { 202: ['Queued', S.RUN] },
    },
    {
      method: 'GET',
      path: '/v1/runs',
      pattern: '/v1/runs',
      summary: "The client's runs",
      tag: 'pipelines',
      access: 'client',
      query: {
        state: 'one state',
        order: 'oldest (default) or newest first',
        limit: 'page size',
        cursor: 'next_cursor',
      },
      responses: ok('A page', S.page('runs', S.RUN)),
    },
    {
      method: 'GET',
      path: '/v1/runs/{id}',
      pattern: '/v1/runs/*',
      summary: 'A run with its steps',
      tag: 'pipelines',
      access: 'client',
      responses: ok('The run', S.RUN),
    },
    {
      method: 'GET',
      path: '/v1/runs/{id}/events',
      pattern: '/v1/runs/*',
      summary: "A run's events, live",
      tag: 'pipelines',
      access: 'client',
      sse: true,
      responses: ok('Server-Sent Events', 'text/event-stream'),
    },
    {
      method: 'DELETE',
      path: '/v1/runs/{id}',
      pattern: '/v1/runs/*',
      summary: 'Cancel a run and its jobs',
      tag: 'pipelines',
      access: 'client',
      responses: ok('The run', S.RUN),
    },
    // Schedules
    {
      method: 'POST',
      path: '/v1/schedules',
      pattern: '/v1/schedules',
      summary: 'Create or replace a schedule',
      tag: 'schedules',
      access: 'client',
      body: { json: S.SCHEDULE_REQUEST },
      responses: { 201: ['Stored', S.SCHEDULE] },
    },
    {
      method: 'GET',
      path: '/v1/schedules',
      pattern: '/v1/schedules',
      summary: "The client's schedules",
      tag: 'schedules',
      access: 'client',
      responses: ok('Schedules', {
        type: 'object',
        properties: { schedules: { type: 'array', items: S.SCHEDULE } },
      }),
    },
    {
      method: 'GET',
      path: '/v1/schedules/{name}',
      pattern: '/v1/schedules/*',
      summary: 'A schedule and its recent ticks',
      tag: 'schedules',
      access: 'client',
      responses: ok('The schedule', S.SCHEDULE),
    },
    ...['pause', 'resume'].map(
      (action): RouteDoc => ({
        method: 'POST',
        path: `/v1/schedules/{name}/${action}`,
        pattern: '/v1/schedules/*',
        summary: `${action === 'pause' ? 'Pause' : 'Resume'} a schedule`,
        tag: 'schedules',
        access: 'client',
        responses: ok('The schedule', S.SCHEDULE),
      }),
    ),
    {
      method: 'DELETE',
      path: '/v1/schedules/{name}',
      pattern: '/v1/schedules/*',
      summary: 'Delete a schedule',
      tag: 'schedules',
      access: 'client',
      responses: { 204: ['Deleted'] },
    },
    // Webhooks
    {
      method: 'POST',
      path: '/v1/webhooks',
      pattern: '/v1/webhooks',
      summary: 'Register an endpoint for events (its secret is shown once)',
      tag: 'webhooks',
      access: 'client',
      body: { json: S.WEBHOOK_REQUEST },
      responses: { 201: ['Registered', S.WEBHOOK], 400: ['Invalid or private target', S.ERROR] },
    },
    {
      method: 'GET',
      path: '/v1/webhooks',
      pattern: '/v1/webhooks',
      summary: "The client's webhooks",
      tag: 'webhooks',
      access: 'client',
      responses: ok('Webhooks', {
        type: 'object',
        properties: { webhooks: { type: 'array', items: S.WEBHOOK } },
      }),
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}',
      pattern: '/v1/webhooks/*',
      summary: 'A webhook',
      tag: 'webhooks',
      access: 'client',
      responses: ok('The webhook', S.WEBHOOK),
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}/deliveries',
      pattern: '/v1/webhooks/*',
      summary: 'Delivery attempts, newest first',
      tag: 'webhooks',
      access: 'client',
      query: { limit: 'page size', cursor: 'next_cursor' },
      responses: ok('A page', S.page('deliveries', S.DELIVERY)),
    },
    ...['rotate', 'enable'].map(
      (action): RouteDoc => ({
        method: 'POST',
        path: `/v1/webhooks/{id}/${action}`,
        pattern: '/v1/webhooks/*',
        summary:
          action === 'rotate'
            ? 'A new secret (the old one signs for a day)'
            : 'Enable a disabled webhook',
        tag: 'webhooks',
        access: 'client',
        responses: ok('The webhook', S.WEBHOOK),
      }),
    ),
    {
      method: 'DELETE',
      path: '/v1/webhooks/{id}',
      pattern: '/v1/webhooks/*',
      summary: 'Delete a webhook',
      tag: 'webhooks',
      access: 'client',
      responses: { 204: ['Deleted'] },
    },
    // Images and statistics
    {
      method: 'GET',
      path: '/v1/duplicates',
      pattern: '/v1/duplicates',
      summary: 'Groups of near-duplicate images',
      tag: 'images',
      access: 'client',
      query: { distance: 'largest Hamming distance', prefix: 'names starting so' },
      responses: ok('Groups', { type: 'object' }),
    },
    {
      method: 'GET',
      path: '/v1/stats/images',
      pattern: '/v1/stats/images',
      summary: 'Image statistics over time',
      tag: 'images',
      access: 'client',
      query: { bucket: 'day, week or month', from: 'ISO time', to: 'ISO time' },
      responses: ok('Statistics', { type: 'object' }),
    },
    {
      method: 'GET',
      path: '/v1/stats',
      pattern: '/v1/stats',
      summary: "The client's usage in minute, hour or day buckets",
      tag: 'stats',
      access: 'client',
      query: {
        bucket: 'minute, hour or day',
        from: 'ISO time',
        to: 'ISO time',
        kind: 'a job kind',
      },
      responses: ok('Usage', S.USAGE),
    },
    {
      method: 'GET',
      path: '/v1/admin/stats',
      pattern: '/v1/admin/stats',
      summary: "Every client's usage together",
      tag: 'admin',
      access: 'admin',
      query: {
        bucket: 'minute, hour or day',
        from: 'ISO time',
        to: 'ISO time',
        kind: 'a job kind',
      },
      responses: ok('Usage', S.USAGE),
    },
    {
      method: 'POST',
      path: '/v1/admin/stats/rebuild',
      pattern: '/v1/admin/stats/rebuild',
      summary: 'Count the statistics again from the event history',
      tag: 'admin',
      access: 'admin',
      responses: { 202: ['Rebuilding'] },
    },
    // Administration
    {
      method: 'GET',
      path: '/v1/admin/queue',
      pattern: '/v1/admin/queue',
      summary: "Topics' depth and each group's lag and in-flight count",
      tag: 'admin',
      access: 'admin',
      responses: ok('Topics', S.QUEUE_TOPICS),
    },
    {
      method: 'GET',
      path: '/v1/admin/queue/lag',
      pattern: '/v1/admin/queue/lag',
      summary: 'Job tasks waiting for workers (for an autoscaler)',
      tag: 'admin',
      access: 'admin',
      query: { kind: 'one kind' },
      responses: ok('Totals', {
        type: 'object',
        properties: {
          lag: { type: 'integer' },
          pending: { type: 'integer' },
          waiting: { type: 'integer' },
        },
      }),
    },
    ...backupAndStorage(),
    // Service
    ...(
      [
        ['/healthz', 'Alive and not draining'],
        ['/livez', 'Alive'],
        ['/readyz', 'Ready: the metadata store and the queue answer (503 names those that do not)'],
      ] as const
    ).map(
      ([path, summary]): RouteDoc => ({
        method: 'GET',
        path,
        pattern: path,
        summary,
        tag: 'service',
        access: 'none',
        responses: { 200: ['Ok', { type: 'object' }], 503: ['Not ready', { type: 'object' }] },
      }),
    ),
    {
      method: 'GET',
      path: '/metrics',
      pattern: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'service',
      access: 'admin',
      responses: ok('Metrics', 'text/plain'),
    },
    {
      method: 'GET',
      path: '/v1/openapi.json',
      pattern: '/v1/openapi.json',
      summary: 'This description',
      tag: 'service',
      access: 'none',
      responses: ok('OpenAPI 3.1', { type: 'object' }),
    },
    {
      method: 'GET',
      path: '/',
      pattern: '/',
      summary: 'The web dashboard',
      tag: 'service',
      access: 'none',
      responses: ok('The page', 'text/html'),
    },
    {
      method: 'GET',
      path: '/ui/{file}',
      pattern: '/ui/*',
      summary: "The dashboard's scripts and styles",
      tag: 'service',
      access: 'none',
      responses: ok('A file', 'text/javascript'),
    },
    // The first design
    {
      method: 'POST',
      path: '/files',
      pattern: '/files',
      summary: 'First design: store a small file sent as base64 JSON',
      tag: 'legacy',
      access: 'client',
      body: { json: S.LEGACY_FILE_REQUEST },
      responses: { 201: ['Stored', { type: 'object' }] },
    },
    {
      method: 'GET',
      path: '/files',
      pattern: '/files',
      summary: 'First design: read a small file as base64 JSON',
      tag: 'legacy',
      access: 'client',
      query: { client_id: 'the client', name: 'the file' },
      responses: ok('The file', { type: 'object' }),
    },
  ]
}

function backupAndStorage(): RouteDoc[] {
  const admin = (
    method: string,
    path: string,
    pattern: string,
    summary: string,
    sse = false,
    json?: object,
  ): RouteDoc => ({
    method,
    path,
    pattern,
    summary,
    tag: 'admin',
    access: 'admin',
    ...(sse ? { sse } : {}),
    ...(json ? { body: { json } } : {}),
    responses: sse
      ? ok('Server-Sent Events', 'text/event-stream')
      : ok(summary, { type: 'object' }),
  })
  return [
    admin('GET', '/v1/admin/backups', '/v1/admin/backups', 'The backups and the one under way'),
    admin('POST', '/v1/admin/backups', '/v1/admin/backups', 'Start a backup now'),
    admin('GET', '/v1/admin/backups/current', '/v1/admin/backups/current', 'The backup under way'),
    admin(
      'GET',
      '/v1/admin/backups/current/events',
      '/v1/admin/backups/current/events',
      "The backup's progress",
      true,
    ),
    admin('GET', '/v1/admin/storage', '/v1/admin/storage', 'Storage nodes and their health'),
    admin(
      'POST',
      '/v1/admin/storage/nodes',
      '/v1/admin/storage/nodes',
      'Add a storage node',
      false,
      S.STORAGE_NODE_REQUEST,
    ),
    admin(
      'POST',
      '/v1/admin/storage/nodes/{id}/drain',
      '/v1/admin/storage/nodes/*',
      'Drain a storage node',
    ),
    admin(
      'DELETE',
      '/v1/admin/storage/nodes/{id}',
      '/v1/admin/storage/nodes/*',
      'Remove a storage node',
    ),
    admin(
      'POST',
      '/v1/admin/storage/repair',
      '/v1/admin/storage/repair',
      'Start a repair pass',
      false,
      S.REPAIR_REQUEST,
    ),
    admin(
      'GET',
      '/v1/admin/storage/repair',
      '/v1/admin/storage/repair',
      'The repair pass under way',
    ),
    admin(
      'GET',
      '/v1/admin/storage/repair/events',
      '/v1/admin/storage/repair/events',
      "The repair's progress",
      true,
    ),
  ]
}
