import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { type FlagValues, loadConfig } from '../config/index.ts'
import { CliError } from './errors.ts'

export interface ClientRequest {
  method: string
  path: string
  headers?: Record<string, string | number>
  /** Streamed with backpressure; its length goes in `headers` when known. */
  body?: Readable | Buffer
}

/** A thin client of the gateway's HTTP API for the CLI: streams both ways, errors as CliError. */
export class GatewayClient {
  readonly #base: URL
  readonly #key: string | undefined

  constructor(url: string, key: string | undefined) {
    this.#base = new URL(url)
    this.#key = key
  }

  /** Sends the request; resolves with a 2xx/304 response, or throws the API's error. */
  async send(req: ClientRequest): Promise<IncomingMessage> {
    const res = await this.#exchange(req)
    if (res.statusCode !== undefined && (res.statusCode < 300 || res.statusCode === 304)) return res
    throw await apiError(res)
  }

  async json<T>(req: ClientRequest): Promise<T> {
    const res = await this.send(req)
    const parts: Buffer[] = []
    for await (const part of res) parts.push(part as Buffer)
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as T
  }

  /**
   * Every item of a paged listing (`{[field]: items, next_cursor}`), page after page, at most
   * `max` of them; `query` holds the listing's filters (unset ones are left out).
   */
  async *items<T>(
    path: string,
    field: string,
    query: Record<string, string | undefined> = {},
    max = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<T> {
    let given = 0
    let cursor: string | null = null
    do {
      const params = new URLSearchParams({ limit: String(Math.min(1000, max - given)) })
      for (const [key, value] of Object.entries(query)) if (value) params.set(key, value)
      if (cursor) params.set('cursor', cursor)
      const page = await this.json<Record<string, unknown>>({
        method: 'GET',
        path: `${path}?${params}`,
      })
      for (const item of page[field] as T[]) {
        yield item
        given++
      }
      cursor = page.next_cursor as string | null
    } while (cursor && given < max)
  }

  #exchange(req: ClientRequest): Promise<IncomingMessage> {
    const url = new URL(req.path, this.#base)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const headers: Record<string, string | number> = { ...req.headers }
    if (this.#key) headers.authorization = `Bearer ${this.#key}`
    return new Promise((resolve, reject) => {
      const outgoing = send(url, { method: req.method, headers }, resolve)
      outgoing.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          new CliError(
            `cannot reach Piper at ${this.#base.origin}: ${error.code ?? error.message} (is \`piper up\` running? PIPER_URL sets where)`,
            { cause: error },
          ),
        )
      })
      if (req.body === undefined) outgoing.end()
      else if (Buffer.isBuffer(req.body)) outgoing.end(req.body)
      else {
        req.body.once('error', (error) => outgoing.destroy(error))
        req.body.pipe(outgoing)
      }
    })
  }
}

/** The client of the gateway the settings name (`PIPER_URL`, with `PIPER_KEY`). */
export function clientFor(flags: FlagValues): GatewayClient {
  const { config } = loadConfig({ flags })
  return new GatewayClient(config.url, config.key)
}

/** Percent-encodes each segment of a file name for a `/v1/files/…` path. */
export function filePath(name: string): string {
  return `/v1/files/${name.split('/').map(encodeURIComponent).join('/')}`
}

async function apiError(res: IncomingMessage): Promise<CliError> {
  const parts: Buffer[] = []
  for await (const part of res) parts.push(part as Buffer)
  const text = Buffer.concat(parts).toString('utf8')
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } }
    return new CliError(error.message, { code: error.code })
  } catch {
    return new CliError(`the gateway answered ${res.statusCode}: ${text.slice(0, 200)}`)
  }
}
