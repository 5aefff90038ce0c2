import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'
import { isLoopback } from '../../net/index.ts'
import type { Logger } from '../../telemetry/index.ts'
import { QueueError } from '../errors.ts'
import type { Queue } from '../queue.ts'
import { errorBody, HANDLERS } from './handlers.ts'
import {
  CLOSE,
  decodeFrame,
  encodeFrame,
  type Frame,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from './protocol.ts'
import { Session } from './session.ts'

export interface QueueServerOptions {
  /** The queue served (the embedded one, on the server's data folder). */
  queue: Queue
  host: string
  port: number
  /** Shared secret clients present in their hello; required unless listening on loopback. */
  token?: string
  logger: Logger
  /** Ping interval; a client silent for two of them is cut off (default 10 s). */
  heartbeatMs?: number
  /** How long a disconnected session keeps its consumers and leases (default 30 s). */
  sessionGraceMs?: number
  /** Messages a connection may have published and not yet confirmed (default 8192). */
  publishCredit?: number
  /** Connections at once; an upgrade beyond is answered 503 (default 1024). */
  maxConnections?: number
  /** A connection that has not said hello this long after connecting is closed (default 10 s). */
  helloTimeoutMs?: number
  /** Serve `wss://` with this certificate and key (PEM) instead of plain `ws://`. */
  tls?: { cert: Uint8Array; key: Uint8Array }
}

/** The largest first frame (the hello): an unidentified client cannot make us buffer more. */
const MAX_HELLO_BYTES = 64 * 1024

interface Connection {
  socket: WebSocket
  session: Session | undefined
  alive: boolean
  helloTimer: NodeJS.Timeout | undefined
}

/** `piper queue serve`: the queue over WebSocket, binary frames, as docs/queue-protocol.md says. */
export class QueueServer {
  readonly #options: Required<Omit<QueueServerOptions, 'token' | 'tls'>> &
    Pick<QueueServerOptions, 'token' | 'tls'>
  readonly #log: Logger
  readonly #sessions = new Map<string, Session>()
  readonly #connections = new Set<Connection>()
  #http: Server | undefined
  #wss: WebSocketServer | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #closed: Promise<void> | undefined

  constructor(options: QueueServerOptions) {
    this.#options = {
      heartbeatMs: 10_000,
      sessionGraceMs: 30_000,
      publishCredit: 8192,
      maxConnections: 1024,
      helloTimeoutMs: 10_000,
      ...options,
    }
    this.#log = options.logger.child({ component: 'queue-server' })
    if (!options.token && !isLoopback(options.host)) {
      throw new QueueError(
        'E_QUEUE_AUTH',
        `refusing to serve the queue on ${options.host} without a token: set PIPER_QUEUE_TOKEN (or listen on 127.0.0.1)`,
      )
    }
  }

  /** The port listened on (after `start`). */
  get port(): number {
    return (this.#http?.address() as AddressInfo | null)?.port ?? 0
  }

  async start(): Promise<void> {
    const refuse = (_req: IncomingMessage, res: ServerResponse) => {
      res
        .writeHead(426, { 'content-type': 'text/plain' })
        .end('piper queue: connect over WebSocket\n')
    }
    const { tls } = this.#options
    const http: Server = tls
      ? createTlsServer({ cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) }, refuse)
      : createServer(refuse)
    this.#http = http
    this.#wss = new WebSocketServer({
      server: http,
      path: '/v1',
      maxPayload: MAX_FRAME_BYTES,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      // Checked before the upgrade: a client without the token never gets a WebSocket, so it
      // cannot make the server buffer frames or hold a session.
      verifyClient: ({ req }, done) => {
        const refusal = this.#refusal(req)
        if (refusal) {
          this.#log.info({ status: refusal[0], remote: req.socket.remoteAddress }, refusal[1])
          done(
            false,
            refusal[0],
            refusal[1],
            refusal[0] === 401 ? { 'www-authenticate': 'Bearer realm="piper-queue"' } : {},
          )
        } else done(true)
      },
    })
    this.#wss.on('connection', (socket) => this.#accept(socket))
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(this.#options.port, this.#options.host, () => resolve())
    })
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs)
    this.#heartbeat.unref()
    this.#log.info({ host: this.#options.host, port: this.port }, 'queue server listening')
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    clearInterval(this.#heartbeat)
    for (const { socket } of this.#connections)
      socket.close(CLOSE.goingAway, 'server shutting down')
    for (const session of this.#sessions.values()) {
      clearTimeout(session.graceTimer)
      await session.closeConsumers()
    }
    this.#sessions.clear()
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()) ?? resolve())
    await new Promise<void>((resolve) => this.#http?.close(() => resolve()) ?? resolve())
    for (const { socket } of this.#connections) socket.terminate()
  }

  /** Why an upgrade request is refused (status, reason), or undefined to accept it. */
  #refusal(req: IncomingMessage): [number, string] | undefined {
    if (this.#connections.size >= this.#options.maxConnections) {
      return [503, `the queue server has its ${this.#options.maxConnections} connections`]
    }
    const { token } = this.#options
    if (!token) return undefined
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1]
    if (given === undefined || !sameSecret(given, token)) {
      return [401, 'wrong or missing queue token (PIPER_QUEUE_TOKEN)']
    }
    return undefined
  }

  #accept(socket: WebSocket): void {
    const connection: Connection = {
      socket,
      session: undefined,
      alive: true,
      helloTimer: undefined,
    }
    this.#connections.add(connection)
    connection.helloTimer = setTimeout(() => {
      if (!connection.session) socket.close(CLOSE.policy, 'no hello in time')
    }, this.#options.helloTimeoutMs)
    connection.helloTimer.unref()
    socket.on('pong', () => {
      connection.alive = true
    })
    socket.on('message', (data, isBinary) => {
      connection.alive = true
      try {
        if (!isBinary) throw new QueueError('E_QUEUE_PROTOCOL', 'frames are binary')
        if (!connection.session && (data as Buffer).length > MAX_HELLO_BYTES) {
          throw new QueueError('E_QUEUE_PROTOCOL', `a hello is at most ${MAX_HELLO_BYTES} bytes`)
        }
        this.#onFrame(connection, decodeFrame(data as Buffer))
      } catch (error) {
        const { code, message } = errorBody(error)
        this.#log.warn({ code, message }, 'closing a connection')
        const closeCode = code === 'E_QUEUE_AUTH' ? CLOSE.auth : CLOSE.protocol
        socket.close(closeCode, `${code}: ${message}`.slice(0, 120))
      }
    })
    socket.on('error', (error) => this.#log.debug({ err: error }, 'socket error'))
    socket.on('close', () => {
      clearTimeout(connection.helloTimer)
      this.#connections.delete(connection)
      const session = connection.session
      if (session?.socket !== socket) return
      session.socket = undefined
      session.graceTimer = setTimeout(() => this.#endSession(session), this.#options.sessionGraceMs)
      session.graceTimer.unref()
    })
  }

  #onFrame(connection: Connection, frame: Frame): void {
    const { head } = frame
    if (!connection.session) {
      if (head.op !== 'hello')
        throw new QueueError('E_QUEUE_PROTOCOL', 'the first frame is "hello"')
      this.#hello(connection, frame)
      return
    }
    const session = connection.session
    if (head.op === 'bye') {
      void this.#endSession(session).then(() => connection.socket.close(CLOSE.normal, 'bye'))
      return
    }
    const handler = Object.hasOwn(HANDLERS, head.op) ? HANDLERS[head.op] : undefined
    if (!handler) throw new QueueError('E_QUEUE_PROTOCOL', `unknown op "${head.op}"`)
    if (head.id === undefined)
      throw new QueueError('E_QUEUE_PROTOCOL', `"${head.op}" needs an "id"`)
    const id = head.id
    if (head.received !== undefined) session.received(head.received)
    // A request resent after a reconnect: answer again, or let the running one answer.
    const done = session.reply(id)
    if (done) {
      session.send(done)
      return
    }
    if (session.running.has(id)) return
    let credit = 0
    if (head.op === 'publish') {
      credit = frame.payloads.length
      if (session.publishing + credit > this.#options.publishCredit) {
        throw new QueueError(
          'E_QUEUE_PROTOCOL',
          `publish credit exceeded (${this.#options.publishCredit})`,
        )
      }
      session.publishing += credit
    }
    session.running.add(id)
    handler(this.#options.queue, session, frame).then(
      (reply) => {
        session.publishing -= credit
        session.answer(id, encodeFrame({ op: 'ok', id, ...reply.head }, reply.payloads))
      },
      (error: unknown) => {
        session.publishing -= credit
        const body = errorBody(error)
        session.answer(id, encodeFrame({ op: 'error', id, error: body }))
        // A request missing its fields is a malformed frame, like one that does not parse.
        if (body.code === 'E_QUEUE_PROTOCOL') {
          connection.socket.close(CLOSE.protocol, `${body.code}: ${body.message}`.slice(0, 120))
        }
      },
    )
  }

  #hello(connection: Connection, { head }: Frame): void {
    if (head.v !== PROTOCOL_VERSION) {
      throw new QueueError(
        'E_QUEUE_PROTOCOL',
        `protocol version ${String(head.v)} is not spoken here (this server speaks ${PROTOCOL_VERSION})`,
      )
    }
    if (this.#options.token && !sameSecret(String(head.token ?? ''), this.#options.token)) {
      throw new QueueError('E_QUEUE_AUTH', 'wrong or missing queue token (PIPER_QUEUE_TOKEN)')
    }
    let session = typeof head.session === 'string' ? this.#sessions.get(head.session) : undefined
    const resumed = session !== undefined
    if (session) {
      clearTimeout(session.graceTimer)
      if (session.socket && session.socket !== connection.socket) {
        session.socket.close(CLOSE.policy, 'session resumed elsewhere')
      }
    } else {
      session = new Session()
      this.#sessions.set(session.id, session)
    }
    session.socket = connection.socket
    connection.session = session
    session.send(
      encodeFrame({
        op: 'welcome',
        v: PROTOCOL_VERSION,
        session: session.id,
        resumed,
        heartbeatMs: this.#options.heartbeatMs,
        credit: this.#options.publishCredit,
      }),
    )
  }

  async #endSession(session: Session): Promise<void> {
    clearTimeout(session.graceTimer)
    this.#sessions.delete(session.id)
    await session.closeConsumers()
  }

  #beat(): void {
    for (const connection of this.#connections) {
      if (!connection.alive) {
        connection.socket.terminate()
        continue
      }
      connection.alive = false
      connection.socket.ping()
    }
  }
}

/**
 * Compares secrets in time that depends on neither: digests of equal length are compared, so
 * not even the token's length shows in how long a wrong guess takes.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
