import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { readFile, statfs, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { BLOB_KEY, BlobError, FsBlobStore } from '../blobs/index.ts'
import { freeNow } from '../codec/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { UNCHECKED } from './node-client.ts'

/** The largest blob (a chunk, a replica, a shard) a node takes in one request. */
export const MAX_NODE_BLOB = 256 * 1024 * 1024
/** What a node keeps in front of every blob: a format mark and the sha256 of the bytes. */
const MAGIC = Buffer.from('PNB1')
const HEADER = MAGIC.length + 32

export interface StorageNodeOptions {
  data: string
  host: string
  port: number
  logger: Logger
  /** Required off loopback: clients send `Authorization: Bearer TOKEN`. */
  token?: string
  /** Bytes this node may hold (0: as much as its disk has). */
  capacity?: number
}

/**
 * A storage node: blobs by key over HTTP, each stored with the same durable, atomic layout as
 * the fs blob store (temporary file, fsync, link, directory fsync) behind a header holding its
 * sha256. A put is checked against the `x-piper-sha256` its client sends before it is stored;
 * a read is checked against the stored hash before a byte is sent, so a node never serves bytes
 * that fail their hash (it answers `500 E_BLOB_CORRUPT`, and the client reads another copy).
 */
export class StorageNode {
  readonly name = 'storage-node'
  readonly #o: StorageNodeOptions
  readonly #log: Logger
  readonly #store: FsBlobStore
  readonly #server: Server
  readonly #metrics = new Registry()
  readonly #requests: Counter<'op' | 'status'>
  readonly #bytes: Counter<'direction'>
  readonly #corrupt: Counter
  readonly #usedGauge: Gauge
  #id = ''
  #used = 0
  #closing: Promise<void> | undefined
  #url = ''

  constructor(options: StorageNodeOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'storage-node' })
    this.#store = new FsBlobStore(join(options.data, 'blobs'))
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => this.#fail(res, error))
    })
    collectDefaultMetrics({ register: this.#metrics })
    this.#requests = new Counter({
      name: 'piper_node_requests_total',
      help: 'Blob requests served, by operation and HTTP status',
      labelNames: ['op', 'status'],
      registers: [this.#metrics],
    })
    this.#bytes = new Counter({
      name: 'piper_node_bytes_total',
      help: 'Blob bytes received (in) and sent (out)',
      labelNames: ['direction'],
      registers: [this.#metrics],
    })
    this.#corrupt = new Counter({
      name: 'piper_node_corrupt_reads_total',
      help: 'Reads refused because the stored bytes failed their sha256',
      registers: [this.#metrics],
    })
    this.#usedGauge = new Gauge({
      name: 'piper_node_used_bytes',
      help: 'Bytes of blobs held',
      registers: [this.#metrics],
      collect: () => this.#usedGauge.set(this.#used),
    })
  }

  get url(): string {
    return this.#url
  }

  get id(): string {
    return this.#id
  }

  async start(): Promise<void> {
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(this.#o.host)
    if (!loopback && !this.#o.token) {
      throw new Error(
        `a storage node on ${this.#o.host} needs a token (PIPER_STORAGE_TOKEN); only loopback may go without`,
      )
    }
    await this.#store.start()
    this.#id = await nodeId(this.#o.data)
    for await (const blob of this.#store.list()) this.#used += Math.max(0, blob.size - HEADER)
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#o.port, this.#o.host, () => resolve())
    })
    const address = this.#server.address()
    const port = typeof address === 'object' && address ? address.port : this.#o.port
    this.#url = `http://${this.#o.host.includes(':') ? `[${this.#o.host}]` : this.#o.host}:${port}`
    this.#log.info({ url: this.#url, id: this.#id, used: this.#used }, 'storage node up')
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://node')
    const path = url.pathname
    if (path === '/livez' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      const draining = this.#closing !== undefined
      return send(res, draining && path === '/readyz' ? 503 : 200, {
        status: draining ? 'draining' : 'ok',
      })
    }
    if (!this.#authorized(req)) {
      return send(res, 401, {
        error: { code: 'E_UNAUTHORIZED', message: 'a valid storage token is required' },
      })
    }
    if (path === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': this.#metrics.contentType })
      res.end(await this.#metrics.metrics())
      return
    }
    if (path === '/v1/node' && req.method === 'GET') return send(res, 200, await this.describe())
    if (path === '/v1/blobs' && req.method === 'GET') return this.#list(res, url)
    const match = /^\/v1\/blobs\/([^/]+)$/.exec(path)
    if (!match || !BLOB_KEY.test(match[1]!)) {
      return send(res, 404, {
        error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${path}` },
      })
    }
    const key = match[1]!
    const op = req.method ?? 'GET'
    res.once('finish', () => this.#requests.inc({ op, status: String(res.statusCode) }))
    switch (op) {
      case 'PUT':
        return this.#put(key, req, res)
      case 'GET':
      case 'HEAD':
        return this.#get(key, req, res)
      case 'DELETE': {
        const existing = await this.#store.stat(key)
        if (!existing || !(await this.#store.delete(key))) return send(res, 404, notStored(key))
        this.#used -= Math.max(0, existing.size - HEADER)
        res.writeHead(204).end()
        return
      }
      default:
        res.writeHead(405, { allow: 'GET, HEAD, PUT, DELETE' }).end()
    }
  }

  async #put(key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const expected = String(req.headers['x-piper-sha256'] ?? '')
    if (!/^[0-9a-f]{64}$/.test(expected)) {
      return send(res, 400, {
        error: { code: 'E_BAD_REQUEST', message: 'x-piper-sha256 (64 hex digits) is required' },
      })
    }
    const length = Number(req.headers['content-length'] ?? Number.NaN)
    if (!Number.isInteger(length) || length < 0 || length > MAX_NODE_BLOB) {
      return send(res, 413, {
        error: {
          code: 'E_BLOB_SIZE',
          message: `a blob needs a content-length of at most ${MAX_NODE_BLOB}`,
        },
      })
    }
    if (await this.#full(length)) {
      req.resume()
      return send(res, 507, { error: { code: 'E_STORAGE_FULL', message: 'this node is full' } })
    }
    const envelope = Buffer.allocUnsafe(HEADER + length)
    const hash = createHash('sha256')
    let at = HEADER
    for await (const piece of req as AsyncIterable<Buffer>) {
      if (at + piece.length > envelope.length) {
        return send(res, 400, {
          error: { code: 'E_BLOB_SIZE', message: 'the body is longer than its content-length' },
        })
      }
      piece.copy(envelope, at)
      hash.update(piece)
      at += piece.length
    }
    if (at !== envelope.length) {
      return send(res, 400, {
        error: { code: 'E_BLOB_SIZE', message: 'the body ended before its content-length' },
      })
    }
    const digest = hash.digest()
    if (digest.toString('hex') !== expected) {
      return send(res, 422, {
        error: {
          code: 'E_BLOB_HASH',
          message: `the bytes hash to ${digest.toString('hex')}, not ${expected}`,
        },
      })
    }
    MAGIC.copy(envelope, 0)
    digest.copy(envelope, MAGIC.length)
    const { created } = await this.#store.put(key, envelope).finally(() => freeNow(envelope))
    if (created) this.#used += length
    this.#bytes.inc({ direction: 'in' }, length)
    send(res, created ? 201 : 200, { key, size: length, created })
  }

  async #get(key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stat = await this.#store.stat(key)
    if (!stat) return send(res, 404, notStored(key))
    const size = stat.size - HEADER
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' }).end()
      return
    }
    // A Buffer over the bytes read, not a copy of them (Buffer.from of a Uint8Array copies).
    const read = await this.#store.read(key)
    const envelope = Buffer.from(read.buffer, read.byteOffset, read.byteLength)
    const body = envelope.subarray(HEADER)
    const stored = envelope.subarray(MAGIC.length, HEADER)
    // A caller that checks the bytes itself (a chunk against its key) asks for them unchecked:
    // hashing a 1 MiB blob here too was a quarter of a node's CPU in the cluster bench.
    const check = req.headers[UNCHECKED] !== '1'
    if (
      !envelope.subarray(0, MAGIC.length).equals(MAGIC) ||
      (check && !createHash('sha256').update(body).digest().equals(stored))
    ) {
      this.#corrupt.inc()
      this.#log.error({ key }, 'damaged blob refused')
      return send(res, 500, {
        error: { code: 'E_BLOB_CORRUPT', message: `blob ${key} failed its hash on this node` },
      })
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''))
    if (range) {
      const start = Number(range[1])
      const end = Math.min(Number(range[2]), size - 1)
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end()
        return
      }
      this.#bytes.inc({ direction: 'out' }, end - start + 1)
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${size}`,
      })
      res.end(body.subarray(start, end + 1))
      return
    }
    this.#bytes.inc({ direction: 'out' }, size)
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' })
    // Freed once the socket has taken the bytes, not left to a collection: a blob is a large
    // buffer outside V8's heap, whose growth forces full collections (they took 6.6 CPU ms per
    // 1 MiB job of the cluster bench in a node's profile).
    res.end(body, () => freeNow(envelope))
  }

  /** `GET /v1/blobs?prefix=&after=&limit=`: keys with sizes, in key order, a page at a time. */
  async #list(res: ServerResponse, url: URL): Promise<void> {
    const prefix = url.searchParams.get('prefix') ?? ''
    const after = url.searchParams.get('after') ?? ''
    const limit = Math.min(
      10_000,
      Math.max(1, Number(url.searchParams.get('limit') ?? 1000) || 1000),
    )
    const all: { key: string; size: number; modified: string }[] = []
    for await (const blob of this.#store.list(prefix)) {
      if (blob.key > after) {
        all.push({ key: blob.key, size: blob.size - HEADER, modified: blob.modified.toISOString() })
      }
    }
    all.sort((a, b) => (a.key < b.key ? -1 : 1))
    const page = all.slice(0, limit)
    send(res, 200, { blobs: page, next: all.length > limit ? page[page.length - 1]!.key : null })
  }

  /** Id, capacity, used and free bytes, and state (`up`, or `full` once it takes no more). */
  async describe() {
    const disk = await statfs(this.#o.data)
    const diskFree = Number(disk.bavail) * Number(disk.bsize)
    const capacity = this.#o.capacity || this.#used + diskFree
    const free = Math.max(0, Math.min(capacity - this.#used, diskFree))
    return {
      id: this.#id,
      url: this.#url,
      capacity,
      used: this.#used,
      free,
      state: free <= 0 ? 'full' : 'up',
    }
  }

  async #full(incoming: number): Promise<boolean> {
    const { free } = await this.describe()
    return incoming > free
  }

  #authorized(req: IncomingMessage): boolean {
    if (!this.#o.token) return true
    const given = Buffer.from(String(req.headers.authorization ?? ''))
    const wanted = Buffer.from(`Bearer ${this.#o.token}`)
    return given.length === wanted.length && timingSafeEqual(given, wanted)
  }

  #fail(res: ServerResponse, error: unknown): void {
    const code = error instanceof BlobError ? error.code : 'E_INTERNAL'
    const status = code === 'E_STORAGE_FULL' ? 507 : 500
    if (status === 500) this.#log.error({ err: error }, 'storage node request failed')
    if (!res.headersSent)
      send(res, status, {
        error: { code, message: status === 507 ? 'this node is full' : 'internal error' },
      })
    else res.destroy()
  }

  /** Stops taking requests and lets those in flight finish. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve())
        this.#server.closeIdleConnections()
      })
      await this.#store.close()
    })()
    return this.#closing
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length })
  res.end(bytes)
}

function notStored(key: string) {
  return { error: { code: 'E_BLOB_NOT_FOUND', message: `blob ${key} is not stored here` } }
}

/** The node's id: made at its first start, kept in its data folder. */
async function nodeId(data: string): Promise<string> {
  const file = join(data, 'node-id')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    const id = `node-${randomUUID().slice(0, 8)}`
    await writeFile(file, `${id}\n`, { flag: 'wx' }).catch(() => {})
    return (await readFile(file, 'utf8')).trim()
  }
}
