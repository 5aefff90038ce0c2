import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FileService } from '../files/index.ts'
import type { JobEventFeed, JobService } from '../jobs/index.ts'
import type { MetaStore } from '../meta/index.ts'
import { isLoopback } from '../net/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { ClientResolver } from './api-keys.ts'
import { describeError, HttpError } from './errors.ts'
import { fileRoutes } from './file-routes.ts'
import { healthResponse } from './health.ts'
import { jobRoutes } from './job-routes.ts'
import { legacyRoutes } from './legacy-routes.ts'
import { sendJson } from './respond.ts'
import { Router } from './router.ts'

export interface GatewayOptions {
  host: string
  port: number
  logger: Logger
  /** The file API; without it the gateway serves health only. */
  storage?: { files: FileService; meta: MetaStore; jsonBodyLimit: number }
  /** The job API and live status; needs `storage`. */
  jobs?: { service: JobService; feed: JobEventFeed }
  /** How long `close()` lets in-flight requests finish before cutting connections. */
  drainTimeoutMs?: number
}

/** The HTTP API. `start()` listens; `close()` stops accepting, drains and is idempotent. */
export class Gateway {
  readonly name = 'gateway'
  readonly #options: GatewayOptions
  readonly #log: Logger
  readonly #server: Server
  readonly #router = new Router()
  #draining = false
  #closing: Promise<void> | undefined
  /** Aborted when the gateway closes: long-lived event streams end so the server can. */
  readonly #shutdown = new AbortController()

  constructor(options: GatewayOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'gateway' })
    this.#server = createServer((req, res) => {
      this.#handle(req, res)
    })
    // Keep-alive sockets of idle clients must not hold shutdown open.
    this.#server.keepAliveTimeout = 5_000
    // Uploads of any size: no limit on how long a request body may take to arrive.
    this.#server.requestTimeout = 0
    const { storage } = options
    if (storage) {
      const clients = new ClientResolver(storage.meta, options.host)
      fileRoutes(this.#router, storage.files, clients, options.jobs?.service)
      if (options.jobs) {
        const { service, feed } = options.jobs
        jobRoutes(this.#router, service, feed, clients, this.#shutdown.signal)
      }
      legacyRoutes(this.#router, storage.files, clients, storage.jsonBodyLimit)
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
    const { host, port, storage } = this.#options
    if (storage && !isLoopback(host) && !(await storage.meta.hasApiKeys())) {
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

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/'
    const url = new URL(target, 'http://gateway')
    // The raw path, not url.pathname: WHATWG URL parsing removes `..` segments, and a file name
    // with one must be refused, not silently turned into another name.
    const query = target.indexOf('?')
    const pathname = query < 0 ? target : target.slice(0, query)
    const log = this.#log.child({ method: req.method, path: pathname })
    try {
      const health = healthResponse(pathname, { draining: this.#draining })
      if (health) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpError(405, 'E_METHOD', `${req.method} is not allowed on ${pathname}`)
        }
        sendJson(res, health.status, health.body)
        return
      }
      const { handler, tail } = this.#router.match(req.method ?? 'GET', pathname)
      await handler({ req, res, url, tail, log })
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
    sendJson(res, status, { error: { code, message } }, headers)
  }
}
