import { readFileSync } from 'node:fs'
import { WebSocket } from 'ws'
import type { Logger } from '../../telemetry/index.ts'
import { errorFromWire, QueueError } from '../errors.ts'
import {
  CLOSE,
  decodeFrame,
  encodeFrame,
  type Frame,
  type FrameHead,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from './protocol.ts'

export interface RemoteConnectionOptions {
  /** `piper://host:port`; `?tls=true` (or `?ca=FILE`, a CA to trust) speaks `wss://`. */
  url: string
  token?: string
  logger: Logger
  /** A request unanswered this long (beyond a fetch's own wait) fails (default 30 s). */
  requestTimeoutMs?: number
  /** After a reconnect the server did not know the session (it restarted): rebuild state. */
  onNewSession: () => Promise<void>
}

/** What a request sends, built at each (re)send so it can name state rebuilt since. */
export type RequestBuilder = () => { head: Omit<FrameHead, 'id'>; payloads?: Uint8Array[] }

interface Pending {
  build: RequestBuilder
  resolve: (frame: Frame) => void
  reject: (error: unknown) => void
  timer: NodeJS.Timeout
  urgent: boolean
  fetch: boolean
}

/**
 * One client connection to `piper queue serve`, kept alive: requests wait through a reconnect
 * and are sent again; the session is resumed, so the server answers a resent request from its
 * memory instead of running it twice.
 */
export class RemoteConnection {
  readonly #options: RemoteConnectionOptions
  readonly #url: string
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  readonly #ca: Buffer | undefined
  #socket: WebSocket | undefined
  #session: string | undefined
  #ready = false
  #closing = false
  #lastSeen = 0
  #watchdog: NodeJS.Timeout | undefined
  #creditWaiters: (() => void)[] = []
  /** Messages the server lets this connection have unconfirmed. */
  credit = 0
  inFlight = 0

  constructor(options: RemoteConnectionOptions) {
    this.#options = options
    const url = new URL(options.url)
    const ca = url.searchParams.get('ca')
    const tls = url.searchParams.get('tls') === 'true' || ca !== null
    this.#url = `${tls ? 'wss' : 'ws'}://${url.host}/v1`
    this.#ca = ca === null ? undefined : readFileSync(ca)
  }

  /** Whether the connection is up and welcomed (requests are being sent, not held). */
  get connected(): boolean {
    return this.#ready && !this.#closing
  }

  /** Connects for the first time; fails fast when the server is not there. */
  async open(): Promise<void> {
    await this.#connect()
  }

  /** Sends a request and resolves with its reply (`op: ok`), or rejects with its error. */
  request(
    build: RequestBuilder,
    options: { waitMs?: number; urgent?: boolean } = {},
  ): Promise<Frame> {
    if (this.#closing)
      return Promise.reject(new QueueError('E_QUEUE_CLOSED', 'the queue is closed'))
    const id = this.#nextId++
    return new Promise<Frame>((resolve, reject) => {
      const timeout = (options.waitMs ?? 0) + (this.#options.requestTimeoutMs ?? 30_000)
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(
          new QueueError(
            'E_QUEUE_UNAVAILABLE',
            `no answer from the queue server at ${this.#url} in ${timeout} ms`,
          ),
        )
      }, timeout)
      this.#pending.set(id, {
        build,
        resolve,
        reject,
        timer,
        urgent: options.urgent ?? false,
        fetch: options.waitMs !== undefined,
      })
      if (this.#ready || options.urgent) this.#send(id)
    })
  }

  /** Waits until `n` more messages fit in the publish credit. */
  async reserve(n: number): Promise<void> {
    while (this.inFlight + n > this.credit && this.inFlight > 0) {
      await new Promise<void>((resolve) => this.#creditWaiters.push(resolve))
    }
    this.inFlight += n
  }

  release(n: number): void {
    this.inFlight -= n
    const waiters = this.#creditWaiters
    this.#creditWaiters = []
    for (const wake of waiters) wake()
  }

  /** Waits (up to 5 s) for answers to what was sent, says goodbye (the server frees the session), closes. */
  async close(): Promise<void> {
    if (this.#closing) return
    const deadline = Date.now() + 5000
    // Fetches are not waited for: they only lease messages that nobody would take.
    const owed = () => [...this.#pending.values()].some((p) => !p.fetch)
    while (owed() && this.#ready && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    this.#closing = true
    clearInterval(this.#watchdog)
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(new QueueError('E_QUEUE_CLOSED', 'the queue is closed'))
    }
    this.#pending.clear()
    const socket = this.#socket
    if (socket?.readyState === WebSocket.OPEN) {
      socket.send(encodeFrame({ op: 'bye' }))
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate()
          resolve()
        }, 2000)
        socket.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    } else socket?.terminate()
  }

  #send(id: number): void {
    const pending = this.#pending.get(id)
    if (!pending || this.#socket?.readyState !== WebSocket.OPEN) return
    const { head, payloads } = pending.build()
    // Requests are kept in id order: the first one still waiting bounds what has arrived.
    const received = this.#pending.keys().next().value!
    this.#socket.send(encodeFrame({ ...head, id, received } as FrameHead, payloads))
  }

  #connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { token } = this.#options
      const socket = new WebSocket(this.#url, SUBPROTOCOL, {
        maxPayload: MAX_FRAME_BYTES,
        ...(this.#ca ? { ca: this.#ca } : {}),
        // The server checks the token before the upgrade (and again in the hello).
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })
      this.#socket = socket
      let welcomed = false
      socket.on('open', () => {
        socket.send(
          encodeFrame({
            op: 'hello',
            v: PROTOCOL_VERSION,
            token: this.#options.token,
            session: this.#session,
          }),
        )
      })
      socket.on('ping', () => {
        this.#lastSeen = Date.now()
      })
      socket.on('message', (data) => {
        this.#lastSeen = Date.now()
        let frame: Frame
        try {
          frame = decodeFrame(data as Buffer)
        } catch (error) {
          this.#options.logger.error({ err: error }, 'unreadable frame from the queue server')
          socket.terminate()
          return
        }
        if (frame.head.op === 'welcome') {
          welcomed = true
          this.#welcome(frame).then(resolve, reject)
          return
        }
        this.#answer(frame)
      })
      socket.on('error', (error) => {
        if (!welcomed) {
          const refused = /Unexpected server response: 401/.test(error.message)
          reject(
            refused
              ? new QueueError(
                  'E_QUEUE_AUTH',
                  `the queue server at ${this.#url} refused the token (PIPER_QUEUE_TOKEN)`,
                  { cause: error },
                )
              : new QueueError('E_QUEUE_UNAVAILABLE', unreachable(this.#url, error), {
                  cause: error,
                }),
          )
        }
      })
      socket.on('close', (code, reason) => {
        this.#ready = false
        if (code === CLOSE.auth || code === CLOSE.protocol) {
          const error = new QueueError(
            code === CLOSE.auth ? 'E_QUEUE_AUTH' : 'E_QUEUE_PROTOCOL',
            `the queue server closed the connection: ${reason}`,
          )
          if (!welcomed) return reject(error)
          this.#options.logger.error({ err: error }, 'queue connection refused')
        }
        if (!this.#closing && welcomed) void this.#reconnect()
      })
    })
  }

  async #welcome({ head }: Frame): Promise<void> {
    const known = this.#session
    this.#session = String(head.session)
    this.credit = Number(head.credit)
    const heartbeatMs = Number(head.heartbeatMs) || 10_000
    this.#lastSeen = Date.now()
    clearInterval(this.#watchdog)
    // A server silent for three heartbeats is gone, even if TCP has not noticed.
    this.#watchdog = setInterval(() => {
      if (Date.now() - this.#lastSeen > 3 * heartbeatMs) this.#socket?.terminate()
    }, heartbeatMs)
    this.#watchdog.unref()
    if (known && head.resumed !== true) await this.#options.onNewSession()
    this.#ready = true
    for (const [id, pending] of [...this.#pending].sort((a, b) => a[0] - b[0])) {
      if (!pending.urgent) this.#send(id)
    }
  }

  #answer({ head, payloads }: Frame): void {
    const pending = head.id === undefined ? undefined : this.#pending.get(head.id)
    if (!pending) return
    this.#pending.delete(head.id!)
    clearTimeout(pending.timer)
    if (head.op === 'error') pending.reject(errorFromWire(head.error as object))
    else pending.resolve({ head, payloads })
  }

  async #reconnect(): Promise<void> {
    clearInterval(this.#watchdog)
    for (let attempt = 0; !this.#closing; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)))
      if (this.#closing) return
      try {
        await this.#connect()
        this.#options.logger.info({ url: this.#url, attempt }, 'reconnected to the queue server')
        return
      } catch (error) {
        this.#options.logger.warn({ err: error, attempt }, 'queue server unreachable; retrying')
      }
    }
  }
}

/** Why the first connection failed, in words that point at the fix. */
function unreachable(url: string, error: Error): string {
  // ws reports an HTTP answer to its upgrade request as "Unexpected server response: <status>".
  const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1]
  if (status === '503') return `the queue server at ${url} is at its connection limit`
  if (status) {
    return `${url} answered HTTP ${status}, not a WebSocket upgrade: is it a \`piper queue serve\` (not the gateway's port)?`
  }
  return `the queue server at ${url} is not answering (${error.message})`
}
