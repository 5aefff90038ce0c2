import { type Dispatcher, request } from 'undici'
import { BlobError, type ReadOptions, readBody } from '../blobs/index.ts'
import type { BreakerPolicy, DependencyBreaker } from '../net/index.ts'

/** A node that has not answered within this long is taken for dead (the breaker counts it). */
const TIMEOUT_MS = 30_000

type Answer = Dispatcher.ResponseData

/** A GET's header asking the node to skip its hash check: the caller checks (`ReadOptions`). */
export const UNCHECKED = 'x-piper-unchecked'

/** A storage node's breaker counts calls it did not answer (refused, reset, timed out). */
export const NODE_BREAKER_POLICY: BreakerPolicy = {
  counts: (error) => error instanceof BlobError && error.code === 'E_BLOB_UNAVAILABLE',
  refused: (message) => new BlobError('E_BLOB_UNAVAILABLE', 'node', message),
}

/**
 * One storage node as a client sees it: its address and the token to send. Calls go through
 * undici's `request` (its shared keep-alive pools), not `fetch`: a chunk's PUT and GET are the
 * cluster's hottest calls, and `fetch` copied every body it sent and assembled every body it
 * read through web streams (~7 ms of a worker's CPU per 1 MiB job, measured in the cluster
 * bench's profile). A body sent is the caller's buffer, unread by anyone else until the call
 * ends; a body read is one buffer the caller owns (fresh, or the memory it lent).
 */
export class NodeClient {
  readonly url: string
  readonly #headers: Record<string, string>
  readonly #breaker: DependencyBreaker | undefined

  /**
   * With `breaker`, calls to a node that stopped answering fail at once (rather than each
   * waiting out its 30 s) until the breaker lets one try again: the store passes over the node
   * at once, and the next heartbeat is that try.
   */
  constructor(address: string, token?: string, breaker?: DependencyBreaker) {
    this.url = /^https?:\/\//.test(address) ? address.replace(/\/$/, '') : `http://${address}`
    this.#headers = token ? { authorization: `Bearer ${token}` } : {}
    this.#breaker = breaker
  }

  /** Stores bytes whose sha256 is `sha256`; true when the node did not have them. */
  async put(key: string, bytes: Uint8Array, sha256: string): Promise<boolean> {
    const res = await this.#call(`/v1/blobs/${key}`, {
      method: 'PUT',
      headers: {
        ...this.#headers,
        'x-piper-sha256': sha256,
        'content-type': 'application/octet-stream',
      },
      body: bytes,
    })
    if (res.statusCode === 201 || res.statusCode === 200) {
      await res.body.dump()
      return res.statusCode === 201
    }
    throw await this.#error(res, key)
  }

  /**
   * The blob (or a range of it), or undefined when the node does not have it; read into memory
   * `allocate` lends, and unchecked by the node when asked (see `BlobStore.read`).
   */
  async get(
    key: string,
    range?: { start: number; end: number },
    { allocate, unchecked }: ReadOptions = {},
  ): Promise<Uint8Array | undefined> {
    const headers = { ...this.#headers }
    if (range) headers.range = `bytes=${range.start}-${range.end}`
    if (unchecked) headers[UNCHECKED] = '1'
    const res = await this.#call(`/v1/blobs/${key}`, { method: 'GET', headers })
    if (res.statusCode === 404) {
      await res.body.dump()
      return undefined
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) throw await this.#error(res, key)
    try {
      const length = Number(res.headers['content-length'])
      if (!allocate || !Number.isSafeInteger(length)) return await res.body.bytes()
      return await readBody(key, res.body, length, allocate)
    } catch (error) {
      throw this.#unavailable(key, error) // the node stopped mid-body
    }
  }

  async size(key: string): Promise<number | undefined> {
    const res = await this.#call(`/v1/blobs/${key}`, { method: 'HEAD', headers: this.#headers })
    if (res.statusCode !== 200 && res.statusCode !== 404) throw await this.#error(res, key)
    await res.body.dump()
    return res.statusCode === 404 ? undefined : Number(res.headers['content-length'])
  }

  async delete(key: string): Promise<boolean> {
    const res = await this.#call(`/v1/blobs/${key}`, { method: 'DELETE', headers: this.#headers })
    if (res.statusCode === 204 || res.statusCode === 404) {
      await res.body.dump()
      return res.statusCode === 204
    }
    throw await this.#error(res, key)
  }

  async *list(prefix = ''): AsyncIterable<{ key: string; size: number; modified: string }> {
    let after = ''
    for (;;) {
      const query = new URLSearchParams({ prefix, after, limit: '5000' })
      const res = await this.#call(`/v1/blobs?${query}`, { method: 'GET', headers: this.#headers })
      if (res.statusCode !== 200) throw await this.#error(res, prefix || 'list')
      const page = (await res.body.json()) as {
        blobs: { key: string; size: number; modified: string }[]
        next: string | null
      }
      yield* page.blobs
      if (!page.next) return
      after = page.next
    }
  }

  async describe(): Promise<{
    id: string
    capacity: number
    used: number
    free: number
    state: string
  }> {
    const res = await this.#call('/v1/node', { method: 'GET', headers: this.#headers })
    if (res.statusCode !== 200) throw await this.#error(res, 'node')
    return (await res.body.json()) as {
      id: string
      capacity: number
      used: number
      free: number
      state: string
    }
  }

  #call(path: string, options: CallOptions): Promise<Answer> {
    return this.#breaker
      ? this.#breaker.run(() => this.#send(path, options))
      : this.#send(path, options)
  }

  async #send(path: string, options: CallOptions): Promise<Answer> {
    try {
      return await request(`${this.url}${path}`, {
        ...options,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      })
    } catch (error) {
      throw this.#unavailable(path, error)
    }
  }

  #unavailable(what: string, error: unknown): BlobError {
    return new BlobError(
      'E_BLOB_UNAVAILABLE',
      what,
      `storage node ${this.url} did not answer: ${(error as Error).message}`,
      { cause: error },
    )
  }

  async #error(res: Answer, key: string): Promise<BlobError> {
    const text = await res.body.text().catch(() => '')
    const corrupt = res.statusCode === 500 && text.includes('"E_BLOB_CORRUPT"')
    const code =
      res.statusCode === 507 ? 'E_STORAGE_FULL' : corrupt ? 'E_BLOB_CORRUPT' : 'E_BLOB_UNAVAILABLE'
    return new BlobError(
      code,
      key,
      `storage node ${this.url} answered ${res.statusCode}: ${text.slice(0, 200)}`,
    )
  }
}

interface CallOptions {
  method: Dispatcher.HttpMethod
  headers: Record<string, string>
  body?: Uint8Array
}
