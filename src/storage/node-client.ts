import { BlobError } from '../blobs/index.ts'
import type { BreakerPolicy, DependencyBreaker } from '../net/index.ts'

/** A storage node's breaker counts calls it did not answer (refused, reset, timed out). */
export const NODE_BREAKER_POLICY: BreakerPolicy = {
  counts: (error) => error instanceof BlobError && error.code === 'E_BLOB_UNAVAILABLE',
  refused: (message) => new BlobError('E_BLOB_UNAVAILABLE', 'node', message),
}

/** One storage node as a client sees it: its address and the token to send. */
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
    const res = await this.#fetch(`/v1/blobs/${key}`, {
      method: 'PUT',
      headers: {
        ...this.#headers,
        'x-piper-sha256': sha256,
        'content-type': 'application/octet-stream',
      },
      body: bytes,
    })
    if (res.status === 201 || res.status === 200) {
      await res.arrayBuffer()
      return res.status === 201
    }
    throw await this.#error(res, key)
  }

  /** The blob (or a range of it), or undefined when the node does not have it. */
  async get(key: string, range?: { start: number; end: number }): Promise<Uint8Array | undefined> {
    const res = await this.#fetch(`/v1/blobs/${key}`, {
      headers: range
        ? { ...this.#headers, range: `bytes=${range.start}-${range.end}` }
        : this.#headers,
    })
    if (res.status === 404) {
      await res.arrayBuffer()
      return undefined
    }
    if (res.status !== 200 && res.status !== 206) throw await this.#error(res, key)
    return new Uint8Array(await res.arrayBuffer())
  }

  async size(key: string): Promise<number | undefined> {
    const res = await this.#fetch(`/v1/blobs/${key}`, { method: 'HEAD', headers: this.#headers })
    if (res.status === 404) return undefined
    if (res.status !== 200) throw await this.#error(res, key)
    return Number(res.headers.get('content-length'))
  }

  async delete(key: string): Promise<boolean> {
    const res = await this.#fetch(`/v1/blobs/${key}`, { method: 'DELETE', headers: this.#headers })
    await res.arrayBuffer()
    if (res.status === 204) return true
    if (res.status === 404) return false
    throw await this.#error(res, key)
  }

  async *list(prefix = ''): AsyncIterable<{ key: string; size: number; modified: string }> {
    let after = ''
    for (;;) {
      const query = new URLSearchParams({ prefix, after, limit: '5000' })
      const res = await this.#fetch(`/v1/blobs?${query}`, { headers: this.#headers })
      if (res.status !== 200) throw await this.#error(res, prefix || 'list')
      const page = (await res.json()) as {
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
    const res = await this.#fetch('/v1/node', { headers: this.#headers })
    if (res.status !== 200) throw await this.#error(res, 'node')
    return (await res.json()) as {
      id: string
      capacity: number
      used: number
      free: number
      state: string
    }
  }

  #fetch(path: string, init: RequestInit): Promise<Response> {
    return this.#breaker ? this.#breaker.run(() => this.#send(path, init)) : this.#send(path, init)
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
    } catch (error) {
      throw new BlobError(
        'E_BLOB_UNAVAILABLE',
        path,
        `storage node ${this.url} did not answer: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
  }

  async #error(res: Response, key: string): Promise<BlobError> {
    const text = await res.text().catch(() => '')
    const corrupt = res.status === 500 && text.includes('"E_BLOB_CORRUPT"')
    const code =
      res.status === 507 ? 'E_STORAGE_FULL' : corrupt ? 'E_BLOB_CORRUPT' : 'E_BLOB_UNAVAILABLE'
    return new BlobError(
      code,
      key,
      `storage node ${this.url} answered ${res.status}: ${text.slice(0, 200)}`,
    )
  }
}
