import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../telemetry/index.ts'
import { HttpError, httpStatusOf } from './errors.ts'
import { healthResponse } from './health.ts'

export interface GatewayOptions {
  host: string
  port: number
  logger: Logger
  /** How long `close()` lets in-flight requests finish before cutting connections. */
  drainTimeoutMs?: number
}

/** The HTTP API. `start()` listens; `close()` stops accepting, drains and is idempotent. */
export class Gateway {
  readonly name = 'gateway'
  readonly #options: GatewayOptions
  readonly #log: Logger
  readonly #server: Server
  #draining = false
  #closing: Promise<void> | undefined

  constructor(options: GatewayOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'gateway' })
    this.#server = createServer((req, res) => this.#handle(req, res))
    // Keep-alive sockets of idle clients must not hold shutdown open.
    this.#server.keepAliveTimeout = 5_000
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
    this.#server.closeIdleConnections()
    await closed
    clearTimeout(timer)
    this.#log.info('gateway closed')
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const path = new URL(req.url ?? '/', 'http://gateway').pathname
      const health = healthResponse(path, { draining: this.#draining })
      if (health) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpError(405, 'E_METHOD', `${req.method} is not allowed on ${path}`)
        }
        sendJson(res, health.status, health.body)
        return
      }
      throw new HttpError(404, 'E_NOT_FOUND', `no route for ${req.method} ${path}`)
    } catch (error) {
      const status = httpStatusOf(error)
      if (status >= 500) this.#log.error({ err: error }, 'request failed')
      const code = error instanceof HttpError ? error.code : 'E_INTERNAL'
      const message = error instanceof HttpError ? error.message : 'internal error'
      sendJson(res, status, { error: { code, message } })
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(res.req.method === 'HEAD' ? undefined : text)
}
