import { createHash } from 'node:crypto'
import {
  BLOB_KEY,
  BlobError,
  type BlobStore,
  type ByteRange,
  checkRange,
  gather,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  sharedPut,
} from '../blobs/index.ts'
import { Pace } from '../files/index.ts'
import type { NodeRegistry, StorageNodeState } from '../meta/index.ts'
import type { Breakers, DependencyBreaker } from '../net/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { NODE_BREAKER_POLICY, NodeClient } from './node-client.ts'
import { ReedSolomon } from './reed-solomon.ts'
import { rank } from './rendezvous.ts'

/** How a blob is kept: R whole copies, or k data + m parity shards (any k rebuild it). */
export type Redundancy = { replicas: number } | { k: number; m: number }

/** What a repair did: copies or shards written where missing, rewritten where damaged, removed where placement no longer wants them, and nodes that did not answer. */
export interface RepairResult {
  copied: number
  bytesCopied: number
  repaired: number
  removed: number
  unreachable: number
}

/** What a pass over every blob did: the sum of its repairs, blobs looked at, and those that could not be placed. */
export interface RepairTotals extends RepairResult {
  blobs: number
  failed: number
}

/** Totals before a pass has done anything. */
export function noRepairs(): RepairTotals {
  return {
    blobs: 0,
    failed: 0,
    copied: 0,
    bytesCopied: 0,
    repaired: 0,
    removed: 0,
    unreachable: 0,
  }
}

/** A node as the admin API shows it: its place in placement and, when it answered, its figures. */
export interface NodeStatus {
  /** Its id (registry) or address (a static list). */
  name: string
  address: string
  state: StorageNodeState
  answering: boolean
  id?: string
  capacity?: number
  used?: number
  free?: number
  /** Why it did not answer. */
  error?: string
}

/** Pieces `get` yields, each memory of its own. */
const PIECE = 256 * 1024
/** What leads every shard: the blob's length (shards are padded to equal length). */
const SHARD_HEADER = 8

export interface NodesBlobStoreOptions {
  /** `host:port` (or URLs) of the storage nodes; or, with `registry`, none. */
  nodes?: readonly string[]
  /** The nodes are those of the registry (`nodes://registry`), kept current by heartbeats. */
  registry?: NodeRegistry
  /** How often the registry's nodes are asked how they are (default 10 s). */
  heartbeatMs?: number
  /** A node that has not answered for this long is marked `down` (default 3 heartbeats). */
  downAfterMs?: number
  redundancy: Redundancy
  token?: string
  /** Prepended to every key on the nodes, so several installations can share them. */
  namespace?: string
  logger?: Logger
  /** Each node's calls go through a breaker of these, named `node:<id or address>`. */
  breakers?: Breakers
}

/** `nodes://a:7601,b:7601?redundancy=replicas:2|ec:4+2` → the nodes and the redundancy. */
export function nodesOptionsFromUrl(url: string): {
  nodes: string[]
  /** `nodes://registry?…`: the nodes are the metadata store's registry. */
  registry: boolean
  redundancy: Redundancy
  namespace?: string
} {
  const match = /^nodes:\/\/([^?#]+)(?:\?(.*))?$/.exec(url)
  if (!match)
    throw new Error(
      `expected nodes://host:port,host:port[?redundancy=replicas:N|ec:K+M], got ${url}`,
    )
  const registry = match[1] === 'registry'
  const nodes = (registry ? '' : match[1]!)
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
  for (const node of nodes) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(node))
      throw new Error(`not host:port: ${node}`)
  }
  const query = new URLSearchParams(match[2] ?? '')
  // A + in a query means a space (application/x-www-form-urlencoded): ec:4+2 arrives as "ec:4 2".
  const raw = (query.get('redundancy') ?? 'replicas:2').replace(' ', '+')
  const namespace = query.get('namespace') ?? undefined
  if (namespace !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/.test(namespace)) {
    throw new Error('namespace: 1 to 16 letters, digits, _ or -')
  }
  const replicas = /^replicas:(\d+)$/.exec(raw)
  const ec = /^ec:(\d+)\+(\d+)$/.exec(raw)
  const redundancy: Redundancy | undefined = replicas
    ? { replicas: Number(replicas[1]) }
    : ec
      ? { k: Number(ec[1]), m: Number(ec[2]) }
      : undefined
  if (!redundancy) throw new Error(`redundancy must be replicas:N or ec:K+M, got ${raw}`)
  const needed = 'replicas' in redundancy ? redundancy.replicas : redundancy.k + redundancy.m
  if (needed < 1 || (!registry && nodes.length < needed)) {
    throw new Error(`${raw} needs at least ${needed} nodes; ${nodes.length} given`)
  }
  return { nodes, registry, redundancy, ...(namespace ? { namespace } : {}) }
}

interface Node {
  name: string
  weight: number
  client: NodeClient
  state: StorageNodeState
}

/**
 * Blobs spread over storage nodes (`piper storage serve`). Where a blob lives is computed, not
 * looked up: weighted rendezvous hashing ranks the nodes for its key, and its copies (or
 * shards) go to the first ones. A node that fails a write is passed over for the next in rank,
 * so writes go on while nodes are down; a put succeeds only once every copy or shard is stored
 * and fsynced on a distinct node (the write quorum). A read takes the first copy that answers,
 * or any k shards (decoding only when a data shard is missing), so reads go on while up to R − 1
 * (or m) nodes are down; each such degraded read is counted.
 *
 * Buffers: `put` sends a buffer as it is (lent until the put settles) and gathers a stream into
 * memory of its own first; every piece `get` yields and `read`'s buffer are the caller's.
 */
export class NodesBlobStore implements BlobStore {
  readonly name = 'nodes'
  readonly readAhead = 4
  readonly redundancy: Redundancy
  /** Every node not removed: placed ones (`up`, `down`) and draining ones. */
  #nodes: Node[]
  readonly #registry: NodeRegistry | undefined
  readonly #token: string | undefined
  readonly #heartbeatMs: number
  readonly #downAfterMs: number
  #heartbeat: NodeJS.Timeout | undefined
  readonly #code: ReedSolomon | undefined
  readonly #log: Logger | undefined
  /** `ns-` before every key on the nodes (empty without a namespace). */
  readonly #ns: string
  readonly #putting = new Map<string, Promise<PutResult>>()
  readonly #breakers: Breakers | undefined
  /** Reads that found a copy or shard missing or damaged and used another. */
  degradedReads = 0

  constructor(options: NodesBlobStoreOptions) {
    this.#breakers = options.breakers
    this.redundancy = options.redundancy
    this.#nodes = (options.nodes ?? []).map((address) => ({
      name: address,
      weight: 1,
      client: new NodeClient(address, options.token, this.#breakerOf(address)),
      state: 'up' as const,
    }))
    this.#registry = options.registry
    this.#token = options.token
    this.#heartbeatMs = options.heartbeatMs ?? 10_000
    this.#downAfterMs = options.downAfterMs ?? 3 * this.#heartbeatMs
    this.#code =
      'k' in options.redundancy
        ? new ReedSolomon(options.redundancy.k, options.redundancy.m)
        : undefined
    this.#log = options.logger?.child({ component: 'nodes-blob-store' })
    this.#ns = options.namespace ? `${options.namespace}-` : ''
  }

  async start(): Promise<void> {
    if (this.#registry) {
      await this.refresh()
      this.#heartbeat = setInterval(() => {
        this.refresh().catch((error: unknown) =>
          this.#log?.warn({ err: error }, 'storage node heartbeat failed'),
        )
      }, this.#heartbeatMs)
      this.#heartbeat.unref()
    }
    // Nodes down at start are fine (placement does not depend on who answers), but not all.
    const answers = await Promise.allSettled(this.#nodes.map((n) => n.client.describe()))
    if (answers.every((a) => a.status === 'rejected')) {
      throw new BlobError('E_BLOB_UNAVAILABLE', 'nodes', 'no storage node answered')
    }
  }

  /**
   * With a registry: asks every node how it is (recording capacity, used and free space, and
   * `down` after three missed heartbeats, `up` again when it answers), then takes the
   * registry's nodes as the placement's. A node's weight is its capacity in GiB.
   */
  async refresh(): Promise<void> {
    const registry = this.#registry
    if (!registry) return
    const now = Date.now()
    for (const record of await registry.listStorageNodes()) {
      if (record.state === 'removed') continue
      const client = new NodeClient(record.address, this.#token, this.#breakerOf(record.id))
      try {
        const figures = await client.describe()
        await registry.saveStorageNode({
          id: record.id,
          address: record.address,
          capacity: figures.capacity,
          used: figures.used,
          free: figures.free,
          lastSeen: now,
          ...(record.state === 'down' ? { state: 'up' as const } : {}),
        })
      } catch {
        if (record.state === 'up' && now - record.lastSeen >= this.#downAfterMs) {
          await registry.setStorageNodeState(record.id, 'down')
          this.#log?.warn({ node: record.id, address: record.address }, 'storage node is down')
        }
      }
    }
    this.#nodes = (await registry.listStorageNodes())
      .filter((record) => record.state !== 'removed')
      .map((record) => ({
        name: record.id,
        weight: Math.max(1, record.capacity / 2 ** 30),
        client: new NodeClient(record.address, this.#token, this.#breakerOf(record.id)),
        state: record.state,
      }))
  }

  /** A node's circuit breaker, shared by every client of it this store makes. */
  #breakerOf(node: string): DependencyBreaker | undefined {
    return this.#breakers?.of(`node:${node}`, NODE_BREAKER_POLICY)
  }

  /** Where new copies go: the nodes that are up or down (down ones are tried, then passed over). */
  #placed(key: string): Node[] {
    return rank(
      key,
      this.#nodes.filter((n) => n.state === 'up' || n.state === 'down'),
    )
  }

  /** Where reads look: the placed nodes in rank, then draining ones (their copies are leaving). */
  #readOrder(key: string): Node[] {
    return [
      ...this.#placed(key),
      ...rank(
        key,
        this.#nodes.filter((n) => n.state === 'draining'),
      ),
    ]
  }

  async put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<PutResult> {
    checkKey(key)
    return sharedPut(this.#putting, key, source, (body) => this.#put(key, body, options))
  }

  async #put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<PutResult> {
    // A buffer is sent as it is, lent by the caller until this put settles (the port's terms):
    // a copy of a 1 MiB job's output here cost a worker ~0.3 ms, and its collector more.
    const bytes = source instanceof Uint8Array ? source : await gather(source)
    if (options.expectedSize !== undefined && bytes.length !== options.expectedSize) {
      throw new BlobError(
        'E_BLOB_SIZE',
        key,
        `blob ${key}: got ${bytes.length} bytes, expected ${options.expectedSize}`,
      )
    }
    // No look first: a node answers 200 for what it has, so a second put stores nothing new, and
    // a missing blob (most puts) costs no extra round trips (k + m of them with shards).
    const pieces = this.#code ? this.#shards(key, bytes) : [{ key: this.#ns + key, bytes }]
    const copies = 'replicas' in this.redundancy ? this.redundancy.replicas : 1
    const ranked = this.#placed(key)
    // Each piece (a copy or a shard) to its own node: first choices at once, then the next
    // nodes in rank for those that failed.
    const wanted = pieces.flatMap((piece) => Array.from({ length: copies }, () => piece))
    const used = new Set<Node>()
    const spare = ranked.slice(wanted.length)
    let created = false
    // A whole copy's hash may be known already (the node checks it either way); else each
    // piece is hashed once, however many copies of it go out.
    const known = !this.#code && options.sha256 && /^[0-9a-f]{64}$/.test(options.sha256)
    const hashes = new Map(
      pieces.map((piece) => [
        piece,
        known ? options.sha256! : createHash('sha256').update(piece.bytes).digest('hex'),
      ]),
    )
    // Settled, every one: a copy that failed for good must not end the put while others still
    // read the lent buffer.
    const sent = await Promise.allSettled(
      wanted.map(async (piece, i) => {
        const sha256 = hashes.get(piece)!
        let node: Node | undefined = ranked[i]!
        used.add(node)
        for (;;) {
          try {
            if (await node.client.put(piece.key, piece.bytes, sha256)) created = true
            return
          } catch (error) {
            this.#log?.warn(
              { err: error, node: node.name, key: piece.key },
              'storage node refused a write; trying the next',
            )
            node = spare.find((n) => !used.has(n))
            if (!node) {
              throw new BlobError(
                'E_BLOB_UNAVAILABLE',
                key,
                `too few storage nodes took ${key}: ${(error as Error).message}`,
                {
                  cause: error,
                },
              )
            }
            used.add(node)
          }
        }
      }),
    )
    const failed = sent.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    return { created, size: bytes.length }
  }

  /** The k + m shards of a blob, each led by the blob's length. */
  #shards(key: string, bytes: Uint8Array): { key: string; bytes: Uint8Array }[] {
    const { k, m } = this.#code!
    const length = Math.max(1, Math.ceil(bytes.length / k))
    const data = Array.from({ length: k }, (_, i) => {
      const shard = new Uint8Array(length)
      shard.set(bytes.subarray(i * length, Math.min(bytes.length, (i + 1) * length)))
      return shard
    })
    return [...data, ...this.#code!.encode(data)].map((shard, i) => {
      const out = new Uint8Array(SHARD_HEADER + shard.length)
      new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length))
      out.set(shard, SHARD_HEADER)
      return { key: this.#ns + shardKey(key, k, m, i), bytes: out }
    })
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>> {
    const bytes = await this.read(key)
    checkRange(key, range, bytes.length)
    const start = range?.start ?? 0
    const end = range ? range.end + 1 : bytes.length
    return (async function* () {
      for (let at = start; at < end; at += PIECE) {
        yield new Uint8Array(bytes.subarray(at, Math.min(end, at + PIECE)))
      }
    })()
  }

  async read(key: string, options: ReadOptions = {}): Promise<Uint8Array> {
    checkKey(key)
    // Shards are assembled into a buffer of the blob's size: only a copy can use lent memory,
    // and a shard's check on its node is what finds a damaged one (the blob's key cannot).
    return this.#code ? this.#readShards(key) : this.#readCopy(key, options)
  }

  async #readCopy(key: string, options: ReadOptions): Promise<Uint8Array> {
    let failure: unknown
    for (const [i, node] of this.#readOrder(key).entries()) {
      try {
        const bytes = await node.client.get(this.#ns + key, undefined, options)
        if (bytes) {
          if (i > 0 && failure) this.degradedReads++
          return bytes
        }
      } catch (error) {
        failure = error
      }
    }
    if (failure)
      throw new BlobError('E_BLOB_UNAVAILABLE', key, `no copy of ${key} could be read`, {
        cause: failure,
      })
    throw new BlobError('E_BLOB_NOT_FOUND', key, `blob ${key} is not stored`)
  }

  async #readShards(key: string): Promise<Uint8Array> {
    const { k, m } = this.#code!
    const ranked = this.#readOrder(key)
    const spare = ranked.slice(k + m)
    let failure: unknown
    /** Shard i from its home node, else from the spare nodes a failed write may have used. */
    const fetchShard = async (i: number): Promise<Uint8Array | undefined> => {
      for (const node of [ranked[i]!, ...spare]) {
        try {
          const bytes = await node.client.get(this.#ns + shardKey(key, k, m, i))
          if (bytes) return bytes
        } catch (error) {
          failure = error
        }
      }
      return undefined
    }
    const shards: (Uint8Array | undefined)[] = await Promise.all(
      Array.from({ length: k }, (_, i) => fetchShard(i)),
    )
    for (let i = k; i < k + m && shards.filter(Boolean).length < k; i++)
      shards[i] = await fetchShard(i)
    const found = shards.filter(Boolean).length
    if (found < k) {
      if (found === 0 && !failure)
        throw new BlobError('E_BLOB_NOT_FOUND', key, `blob ${key} is not stored`)
      throw new BlobError(
        'E_BLOB_UNAVAILABLE',
        key,
        `only ${found} of the ${k} shards of ${key} needed could be read`,
        {
          cause: failure,
        },
      )
    }
    const first = shards.find(Boolean)!
    const size = Number(new DataView(first.buffer, first.byteOffset).getBigUint64(0))
    const body = shards.map((s) => s?.subarray(SHARD_HEADER))
    if (body.slice(0, k).some((s) => !s)) this.degradedReads++
    const data = this.#code!.reconstruct(body)
    const out = new Uint8Array(size)
    const length = data[0]!.length
    data.forEach((shard, i) => {
      const at = i * length
      if (at < size) out.set(shard.subarray(0, Math.min(length, size - at)), at)
    })
    return out
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    checkKey(key)
    if (!this.#code) {
      for (const node of this.#readOrder(key)) {
        const size = await node.client.size(this.#ns + key).catch(() => undefined)
        if (size !== undefined) return { size }
      }
      return undefined
    }
    const { k, m } = this.#code
    const ranked = this.#readOrder(key)
    for (let i = 0; i < k + m; i++) {
      for (const node of [ranked[i]!, ...ranked.slice(k + m)]) {
        const head = await node.client
          .get(this.#ns + shardKey(key, k, m, i), { start: 0, end: SHARD_HEADER - 1 })
          .catch(() => undefined)
        if (head?.length === SHARD_HEADER)
          return { size: Number(new DataView(head.buffer, head.byteOffset).getBigUint64(0)) }
      }
    }
    return undefined
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key)
    const keys = (
      this.#code
        ? Array.from({ length: this.#code.k + this.#code.m }, (_, i) =>
            shardKey(key, this.#code!.k, this.#code!.m, i),
          )
        : [key]
    ).map((k) => this.#ns + k)
    const results = await Promise.all(
      this.#nodes.flatMap((node) => keys.map((k) => node.client.delete(k).catch(() => false))),
    )
    return results.some(Boolean)
  }

  async *list(prefix = ''): AsyncIterable<{ key: string; size: number; modified: Date }> {
    const seen = new Set<string>()
    for (const node of this.#nodes) {
      let listing: AsyncIterable<{ key: string; size: number; modified: string }>
      try {
        listing = node.client.list(this.#ns + prefix)
        for await (const blob of listing) {
          const own = blob.key.slice(this.#ns.length)
          const shard = SHARD_KEY.exec(own)
          const key = shard ? shard[1]! : own
          if (seen.has(key) || (this.#code ? !shard : shard)) continue
          seen.add(key)
          const size = this.#code ? (await this.stat(key))?.size : blob.size
          if (size !== undefined) yield { key, size, modified: new Date(blob.modified) }
        }
      } catch (error) {
        this.#log?.warn({ err: error, node: node.name }, 'a storage node could not be listed')
      }
    }
  }

  /**
   * Brings one blob to where placement wants it now: every copy (or shard) on its node in rank
   * order (the next one where a node is down), rebuilt from the others where it is missing, or
   * damaged when `verify` reads each one back (the node checks its hash); then removes copies
   * from nodes that no longer should hold them. Idempotent: run again, it finds nothing to do.
   * Copies are only removed once every wanted one is in place.
   */
  async repair(key: string, options: { verify?: boolean } = {}): Promise<RepairResult> {
    checkKey(key)
    const result: RepairResult = {
      copied: 0,
      bytesCopied: 0,
      repaired: 0,
      removed: 0,
      unreachable: 0,
    }
    const ranked = this.#placed(key)
    const pieces = this.#code ? this.#code.k + this.#code.m : 1
    const copies = 'replicas' in this.redundancy ? this.redundancy.replicas : 1
    let source: Promise<{ key: string; bytes: Uint8Array }[]> | undefined
    // The pieces as they should be, made once and only when one is missing: the blob read
    // through the usual path (any copy, any k shards), cut again the same way.
    const wanted = () => {
      source ??= this.read(key).then((bytes) =>
        this.#code ? this.#shards(key, bytes) : [{ key: this.#ns + key, bytes }],
      )
      return source
    }
    const holders = new Map<number, Set<Node>>()
    // Where reads look: a shard on its own node in rank, else on the nodes after the k + m; a
    // copy on the first nodes in rank that answer.
    const spare = this.#code ? ranked.slice(pieces) : ranked
    const used = new Set<Node>()
    for (let piece = 0; piece < pieces; piece++) {
      const pieceKey = this.#code
        ? this.#ns + shardKey(key, this.#code.k, this.#code.m, piece)
        : this.#ns + key
      const held = new Set<Node>()
      holders.set(piece, held)
      const candidates = this.#code ? [ranked[piece]!, ...spare] : ranked
      for (const node of candidates) {
        if (held.size >= copies) break
        if (used.has(node)) continue
        used.add(node)
        let state: 'ok' | 'missing' | 'damaged'
        try {
          state = await this.#check(node, pieceKey, options.verify === true)
        } catch {
          result.unreachable++
          continue
        }
        if (state !== 'ok') {
          const bytes = (await wanted())[piece]!.bytes
          if (state === 'damaged') await node.client.delete(pieceKey)
          await node.client.put(pieceKey, bytes, createHash('sha256').update(bytes).digest('hex'))
          if (state === 'damaged') result.repaired++
          else {
            result.copied++
            result.bytesCopied += bytes.length
          }
        }
        held.add(node)
      }
      if (held.size < copies)
        throw new BlobError(
          'E_BLOB_UNAVAILABLE',
          key,
          `too few storage nodes answer to place ${key}`,
        )
    }
    // Every piece is in place: copies elsewhere are surplus (placement moved them).
    for (let piece = 0; piece < pieces; piece++) {
      const pieceKey = this.#code
        ? this.#ns + shardKey(key, this.#code.k, this.#code.m, piece)
        : this.#ns + key
      for (const node of this.#nodes) {
        if (holders.get(piece)!.has(node)) continue
        if (await node.client.delete(pieceKey).catch(() => false)) result.removed++
      }
    }
    return result
  }

  /** The state of every node placement knows (as of the last heartbeat), without asking them. */
  nodeStates(): StorageNodeState[] {
    return this.#nodes.map((n) => n.state)
  }

  /** Every node placement knows (not removed ones), asked how it is now. */
  nodeStatus(): Promise<NodeStatus[]> {
    return Promise.all(
      this.#nodes.map(async (n): Promise<NodeStatus> => {
        const known = { name: n.name, address: n.client.url, state: n.state }
        try {
          const { id, capacity, used, free } = await n.client.describe()
          return { ...known, answering: true, id, capacity, used, free }
        } catch (error) {
          return { ...known, answering: false, error: (error as Error).message }
        }
      }),
    )
  }

  /** Repairs every blob the nodes hold (see `repair`), reporting progress as it goes. */
  async repairAll(
    options: {
      verify?: boolean
      /** Stops between blobs (a repair run again goes on where this one stopped, in effect). */
      signal?: AbortSignal
      /** With `verify`, the most blob bytes read back a second (a scrub's bounded rate). */
      bytesPerSecond?: number
      onProgress?: (done: number, totals: RepairTotals) => void
    } = {},
  ): Promise<RepairTotals> {
    const totals = noRepairs()
    const blobs: { key: string; size: number }[] = []
    for await (const blob of this.list()) blobs.push(blob)
    const pace =
      options.verify && options.bytesPerSecond ? new Pace(options.bytesPerSecond) : undefined
    for (const { key, size } of blobs) {
      if (options.signal?.aborted) break
      await pace?.spend(size, options.signal)
      totals.blobs++
      let one: RepairResult
      try {
        one = await this.repair(key, options)
      } catch (error) {
        // One blob that cannot be placed (too few nodes, too few shards left) stops no other.
        totals.failed++
        this.#log?.error({ err: error, key }, 'blob could not be repaired')
        options.onProgress?.(totals.blobs, totals)
        continue
      }
      totals.copied += one.copied
      totals.bytesCopied += one.bytesCopied
      totals.repaired += one.repaired
      totals.removed += one.removed
      totals.unreachable += one.unreachable
      options.onProgress?.(totals.blobs, totals)
    }
    return totals
  }

  /** Whether a node holds a piece (read back, hash-checked by the node, when `verify`). */
  async #check(
    node: Node,
    pieceKey: string,
    verify: boolean,
  ): Promise<'ok' | 'missing' | 'damaged'> {
    if (!verify) return (await node.client.size(pieceKey)) === undefined ? 'missing' : 'ok'
    try {
      return (await node.client.get(pieceKey)) ? 'ok' : 'missing'
    } catch (error) {
      if ((error as BlobError).code === 'E_BLOB_CORRUPT') return 'damaged'
      throw error
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat)
  }
}

const SHARD_KEY = /^(.+)-\d+x\d+-\d+$/

function shardKey(key: string, k: number, m: number, i: number): string {
  return `${key}-${k}x${m}-${i}`
}

function checkKey(key: string): void {
  // Room for the shard suffix within the 200 characters a node accepts.
  if (!BLOB_KEY.test(key) || key.length > 180) {
    throw new BlobError('E_BLOB_KEY', key, `invalid blob key ${JSON.stringify(key)}`)
  }
}
