import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Backups } from '../app/index.ts'
import type { FileService } from '../files/index.ts'
import type { JobEventFeed, JobService, KindRegistry } from '../jobs/index.ts'
import type { ClientUsageReader, MetaStore, RateBuckets } from '../meta/index.ts'
import { isLoopback } from '../net/index.ts'
import type { DeadLetters, PipelineService, RunService } from '../pipelines/index.ts'
import type { TopicStats } from '../queue/index.ts'
import type { ScheduleService } from '../schedules/index.ts'
import {
  contextFrom,
  createMetricsRegistry,
  type Histogram,
  httpRequestDuration,
  inSpan,
  type Logger,
  type Registry,
  SpanKind,
} from '../telemetry/index.ts'
import type { TusUploads } from '../tus/index.ts'
import type { WebhookService } from '../webhooks/index.ts'
import { ClientResolver } from './api-keys.ts'
import { backupAdminRoutes } from './backup-admin-routes.ts'
import { BrowserGuard, type BrowserPolicy } from './browser-guard.ts'
import { ClientSlots } from './client-slots.ts'
import { dlqRoutes } from './dlq-routes.ts'
import { describeError, HttpError } from './errors.ts'
import { fileRoutes } from './file-routes.ts'
import { healthResponse } from './health.ts'
import { type ImageRouteOptions, imageRoutes } from './image-routes.ts'
import { jobRoutes } from './job-routes.ts'
import { legacyRoutes } from './legacy-routes.ts'
import { LoadShedding } from './load-shedding.ts'
import { openApiRoute } from './openapi-document.ts'
import { pipelineRoutes } from './pipeline-routes.ts'
import { queueAdminRoutes } from './queue-admin-routes.ts'
import { NO_QUOTAS, type QuotaLimits, Quotas } from './quotas.ts'
import { RateLimit } from './rate-limit.ts'
import { parseRequestTarget } from './request-target.ts'
import { sendJson } from './respond.ts'
import { Router } from './router.ts'
import { scheduleRoutes } from './schedule-routes.ts'
import { type StatsRouteOptions, statsRoutes } from './stats-routes.ts'
import { type StorageAdminOptions, storageAdminRoutes } from './storage-admin-routes.ts'
import { tusRoutes } from './tus-routes.ts'
import { uiRoutes } from './ui-routes.ts'
import { webhookRoutes } from './webhook-routes.ts'

export interface GatewayOptions {
  host: string
  port: number
  logger: Logger
  /**
   * Health and `/metrics` alone, for a process without the API (a worker): administrators'
   * keys are checked in `meta`. Ignored when `storage` is given.
   */
  ops?: { meta: MetaStore }
  /** The file API; without it (and `ops`) the gateway serves health only. */
  storage?: {
    files: FileService
    meta: MetaStore & ClientUsageReader
    jsonBodyLimit: number
    quotas?: QuotaLimits
    /** `/v1/tus/`: resumable uploads. */
    tus?: TusUploads
    /** `/v1/webhooks`: clients' endpoints for events. */
    webhooks?: WebhookService
  }
  /** The job and pipeline APIs and live status; needs `storage`. */
  jobs?: {
    service: JobService
    feed: JobEventFeed
    kinds: KindRegistry
    pipelines: PipelineService
    runs: RunService
    deadLetters: DeadLetters
    schedules?: ScheduleService
  }
  /** Duplicate search, image statistics, on-demand variants and analysis of image uploads. */
  images?: ImageRouteOptions
  /** Clients allowed on `/v1/admin/…` and `/metrics` (default: `default`, the keyless loopback client). */
  admins?: readonly string[]
  /** `/v1/admin/backups`, with a backup store configured (`PIPER_BACKUPS`). */
  backups?: Backups
  /** `/v1/admin/storage`, with a `nodes://` blob store. */
  storageAdmin?: StorageAdminOptions
  /**
   * Admission: a token bucket per client (429 `E_RATE_LIMITED`), and a bound on the jobs waiting
   * past which new jobs and runs are refused (503 `E_OVERLOADED`). Both off by default.
   */
  admission?: {
    buckets: RateBuckets
    perMinute: number
    burst: number
    maxQueuedJobs: number
    now?: () => number
  }
  /** `/v1/stats`: usage statistics. */
  stats?: StatsRouteOptions
  /** The queue's topics and groups, for `/v1/admin/queue` (administrators). */
  queueStats?: () => Promise<TopicStats[]>
  /** The dependencies that do not answer now, for `/readyz` (503 while any does not). */
  ready?: () => Promise<string[]>
  /** Where the gateway's metrics go, served at `/metrics` (default: a registry of its own). */
  metrics?: Registry
  /** How long `close()` lets in-flight requests finish before cutting connections. */
  drainTimeoutMs?: number
  /** Host names and CORS origins (see `BrowserGuard`); default: loopback names, no CORS. */
  browser?: Omit<BrowserPolicy, 'listenHost'>
  limits?: Partial<ConnectionLimits>
}

/** What connections and clients may cost (docs/security.md). */
export interface ConnectionLimits {
  /** Connections open at once; the next is closed as it arrives. */
  maxConnections: number
  /** Time to send the request line and headers (408 after). */
  headersTimeoutMs: number
  /** A connection on which no byte moves for this long is closed. */
  idleTimeoutMs: number
  /** Uploads (PUT, multipart POST) one client may have in progress at once (429 beyond). */
  uploadsPerClient: number
  /** Event streams (SSE) one client may hold open at once (429 beyond). */
  streamsPerClient: number
  /** First-design `POST /files` and `GET /files` at once, all clients (each holds its body in memory). */
  legacyRequests: number
}

/** What routes consult besides their services, built once per gateway: slots, quotas, browsers. */
export interface RoutePolicy {
  browser: BrowserGuard
  uploads: ClientSlots
  streams: ClientSlots
  legacy: ClientSlots
  quotas: Quotas
  shedding: LoadShedding
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  uploadsPerClient: 16,
  streamsPerClient: 32,
  legacyRequests: 16,
}

/** The HTTP API. `start()` listens; `close()` stops accepting, drains and is idempotent. */
export class Gateway {
  readonly name = 'gateway'
  readonly #options: GatewayOptions
  readonly #log: Logger
  readonly #server: Server
  readonly #router = new Router()
  readonly #guard: BrowserGuard
  #draining = false
  #closing: Promise<void> | undefined
  /** Aborted when the gateway closes: long-lived event streams end so the server can. */
  readonly #shutdown = new AbortController()
  readonly #requests: Histogram<'method' | 'route' | 'status'>

  constructor(options: GatewayOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'gateway' })
    const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits }
    this.#guard = new BrowserGuard({
      listenHost: options.host,
      publicHosts: options.browser?.publicHosts ?? [],
      corsOrigins: options.browser?.corsOrigins ?? [],
      inlineHosts: options.browser?.inlineHosts ?? [],
    })
    this.#server = createServer(
      {
        // Uploads of any size: no limit on how long a whole request may take, only on its
        // headers and on silence (`timeout` below).
        requestTimeout: 0,
        headersTimeout: limits.headersTimeoutMs,
        connectionsCheckingInterval: Math.min(30_000, Math.max(250, limits.headersTimeoutMs / 4)),
      },
      (req, res) => this.#handle(req, res),
    )
    // Keep-alive sockets of idle clients must not hold shutdown open.
    this.#server.keepAliveTimeout = 5_000
    this.#server.timeout = limits.idleTimeoutMs
    this.#server.maxConnections = limits.maxConnections
    // A request Node's parser refuses (bad request line, huge headers, a header timeout) never
    // reaches a handler: answer it here, with the error format of every other answer.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      this.#log.debug({ code: error.code, err: error }, 'unparseable request')
      if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
        socket.destroy()
        return
      }
      const [status, reason, message] = CLIENT_ERRORS[error.code ?? ''] ?? DEFAULT_CLIENT_ERROR
      const body = JSON.stringify({
        error: { code: status === 408 ? 'E_TIMEOUT' : 'E_BAD_REQUEST', message },
      })
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      )
    })
    const metrics = options.metrics ?? createMetricsRegistry()
    this.#requests = httpRequestDuration(metrics)
    const { storage } = options
    if (storage) {
      const admission = options.admission
      const limit = admission ? new RateLimit({ ...admission }) : undefined
      const clients = new ClientResolver(storage.meta, options.host, options.admins, limit)
      const policy: RoutePolicy = {
        browser: this.#guard,
        uploads: new ClientSlots(limits.uploadsPerClient, 'uploads', 'uploadsPerClient'),
        streams: new ClientSlots(limits.streamsPerClient, 'event streams', 'streamsPerClient'),
        legacy: new ClientSlots(limits.legacyRequests, 'first-design requests', 'legacyRequests'),
        quotas: new Quotas(storage.meta, storage.quotas ?? NO_QUOTAS, storage.files),
        shedding: new LoadShedding(storage.meta, admission?.maxQueuedJobs ?? 0, admission?.now),
      }
      fileRoutes(this.#router, storage.files, clients, policy, options.jobs, options.images)
      if (options.images) imageRoutes(this.#router, options.images.store, clients)
      if (options.jobs) {
        const { service, feed, kinds, pipelines, runs } = options.jobs
        const shutdown = this.#shutdown.signal
        jobRoutes(this.#router, service, feed, kinds, clients, policy, shutdown)
        pipelineRoutes(this.#router, pipelines, runs, feed, clients, policy, shutdown)
        dlqRoutes(this.#router, options.jobs.deadLetters, clients)
        if (options.jobs.schedules) scheduleRoutes(this.#router, options.jobs.schedules, clients)
      }
      tusRoutes(this.#router, storage.tus, clients, policy, options.jobs)
      webhookRoutes(this.#router, storage.webhooks, clients)
      queueAdminRoutes(this.#router, options.queueStats, clients)
      statsRoutes(this.#router, options.stats, clients)
      uiRoutes(this.#router)
      openApiRoute(this.#router, options.jobs?.kinds)
      legacyRoutes(this.#router, storage.files, clients, policy, storage.jsonBodyLimit)
      backupAdminRoutes(this.#router, options.backups, clients, policy, this.#shutdown.signal)
      if (options.storageAdmin) {
        const shutdown = this.#shutdown.signal
        storageAdminRoutes(this.#router, options.storageAdmin, clients, policy, shutdown)
      }
    }
    const keys = storage?.meta ?? options.ops?.meta
    if (keys) {
      const clients = new ClientResolver(keys, options.host, options.admins)
      this.#router.on('GET', '/metrics', async ({ req, res }) => {
        await clients.resolveAdmin(req)
        res.writeHead(200, { 'content-type': metrics.contentType })
        res.end(await metrics.metrics())
      })
    }
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo {
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('gateway is not listening')
    return address
  }

  get url(): string {
    const { address, port, family } = this.address
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`
  }

  async start(): Promise<void> {
    const { host, port } = this.#options
    const keys = this.#options.storage?.meta ?? this.#options.ops?.meta
    if (keys && !isLoopback(host) && !(await keys.hasApiKeys())) {
      throw Object.assign(
        new Error(
          `refusing to listen on ${host} without API keys: anyone could read every file. Create one with \`piper keys create CLIENT\`, or listen on 127.0.0.1`,
        ),
        { code: 'E_NO_API_KEYS' },
      )
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    this.#log.info({ url: this.url }, 'gateway listening')
  }

  /** Readiness goes 503; requests still succeed. The first step of a graceful shutdown. */
  drain(): void {
    if (this.#draining) return
    this.#draining = true
    this.#log.info('gateway draining: readiness is now 503')
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.drain()
    if (!this.#server.listening) return
    const timer = setTimeout(
      () => this.#server.closeAllConnections(),
      this.#options.drainTimeoutMs ?? 10_000,
    )
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#shutdown.abort()
    this.#server.closeIdleConnections()
    await closed
    clearTimeout(timer)
    this.#log.info('gateway closed')
  }

  /** Every request ends in an answer or a closed connection; no error escapes to the process. */
  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#serve(req, res).catch((error: unknown) => {
      // Last resort: #serve answers its own errors, so this is a bug in answering one.
      this.#log.error({ err: error, method: req.method }, 'request handler failed')
      if (!res.headersSent) {
        try {
          sendJson(
            res,
            500,
            { error: { code: 'E_INTERNAL', message: 'internal error' } },
            { connection: 'close' },
          )
          return
        } catch {}
      }
      res.destroy()
    })
  }

  /** A request in a server span, joined to the caller's trace when it sends `traceparent`. */
  #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = methodLabel(req.method)
    return inSpan(
      method,
      {
        kind: SpanKind.SERVER,
        parent: contextFrom(req.headers),
        attributes: { 'http.request.method': method },
      },
      async (span) => {
        res.once('close', () => span.setAttribute('http.response.status_code', res.statusCode))
        await this.#answer(req, res, (route) => span.updateName(`${method} ${route}`))
      },
    )
  }

  async #answer(
    req: IncomingMessage,
    res: ServerResponse,
    routed: (route: string) => void,
  ): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff')
    let log = this.#log.child({ method: req.method })
    // Labelled by route pattern, never by path: one series per route, whatever the names.
    let route = 'none'
    const stopTimer = this.#requests.startTimer({ method: methodLabel(req.method) })
    res.once('close', () => stopTimer({ route, status: String(res.statusCode) }))
    try {
      const { url, pathname } = parseRequestTarget(req.url)
      log = this.#log.child({ method: req.method, path: pathname })
      if (this.#guard.check(req, res)) return
      const health = healthResponse(pathname, { draining: this.#draining })
      if (health) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpError(405, 'E_METHOD', `${req.method} is not allowed on ${pathname}`)
        }
        const failing =
          health.status === 200 && pathname !== '/livez' ? await this.#options.ready?.() : undefined
        if (failing && failing.length > 0) {
          sendJson(res, 503, { status: 'unready', failing })
          return
        }
        sendJson(res, health.status, health.body)
        return
      }
      const matched = this.#router.match(req.method ?? 'GET', pathname)
      route = matched.route
      routed(route)
      await matched.handler({ req, res, url, tail: matched.tail, log })
    } catch (error) {
      this.#fail(req, res, error, log)
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown, log: Logger): void {
    const { status, code, message } = describeError(error)
    if (req.destroyed && !req.complete) {
      log.info({ code: (error as { code?: string }).code }, 'client went away mid-request')
      return
    }
    if (status >= 500) log.error({ err: error }, 'request failed')
    if (res.headersSent) {
      res.destroy()
      return
    }
    const allow = (error as { allow?: string }).allow
    // A body we did not read would be parsed as the next request: close the connection.
    const headers: Record<string, string> = req.complete ? {} : { connection: 'close' }
    if (allow) headers.allow = allow
    if (status === 401) headers['www-authenticate'] = 'Bearer realm="piper"'
    const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds
    if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter)
    sendJson(res, status, { error: { code, message } }, headers)
  }
}

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'])

/** A method as a metric label: any other verb is `other` (clients choose methods freely). */
function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other'
}

/** Node's parser errors (`clientError`) as status, reason phrase and message. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'the request headers are too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request headers took too long to arrive'],
  HPE_URI_TOO_LONG: [414, 'URI Too Long', 'the request target is too long'],
}
const DEFAULT_CLIENT_ERROR: [number, string, string] = [
  400,
  'Bad Request',
  'the request is not valid HTTP/1.1',
]
