import type { IncomingMessage, ServerResponse } from 'node:http'

const HEARTBEAT_MS = 15_000

/**
 * A Server-Sent Events response (HTML Living Standard §9.2): `send` writes one event with an
 * id, so a client that reconnects sends `Last-Event-ID` and resumes after it; a comment line
 * every 15 s keeps proxies from closing an idle stream. `signal` aborts when the client leaves
 * or the server shuts down (the client then reconnects elsewhere, resuming).
 */
export class SseStream {
  readonly #res: ServerResponse
  readonly #heartbeat: NodeJS.Timeout
  readonly #abort = new AbortController()

  constructor(req: IncomingMessage, res: ServerResponse, shutdown: AbortSignal) {
    this.#res = res
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    })
    if (req.method === 'HEAD') {
      // The headers are the whole answer; a stream that never writes would never send them.
      res.end()
      this.#abort.abort()
    } else res.write('retry: 2000\n\n')
    this.#heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(': keep-alive\n\n')
    }, HEARTBEAT_MS)
    const gone = () => this.#abort.abort()
    req.once('close', gone)
    res.once('close', gone)
    if (shutdown.aborted) gone()
    else shutdown.addEventListener('abort', gone, { once: true })
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /** Writes one event; waits for the socket to drain when its buffer is full. */
  async send(id: number, event: string, data: unknown): Promise<void> {
    if (this.signal.aborted) return
    const ok = this.#res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    if (!ok && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#res.off('drain', done)
          this.signal.removeEventListener('abort', done)
          resolve()
        }
        this.#res.once('drain', done)
        this.signal.addEventListener('abort', done, { once: true })
      })
    }
  }

  end(): void {
    clearInterval(this.#heartbeat)
    this.#abort.abort()
    if (!this.#res.writableEnded) this.#res.end()
  }
}

/** The id after which a reconnecting client resumes, or undefined when it sent none. */
export function lastEventId(req: IncomingMessage): number | undefined {
  const raw = req.headers['last-event-id']
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw.trim())) return undefined
  return Number(raw.trim())
}
