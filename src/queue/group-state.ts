import { join } from 'node:path'
import {
  type FsyncPolicy,
  Log,
  LogError,
  readTextIfExists,
  writeFileDurably,
} from '../log/index.ts'
import type { Logger } from '../telemetry/index.ts'

const ACK = 1
const DELIVERY = 2
/** Compact once the state log holds this much. */
const COMPACT_BYTES = 4 << 20

interface Snapshot {
  version: 1
  /** State-log offsets below this are folded into the snapshot. */
  covered: number
  ackFloor: number
  acked: number[]
  deliveries: [number, number][]
}

/**
 * A consumer group's durable state: the ack floor (every offset below it is acknowledged), the
 * acknowledged offsets above it, and how often each unacknowledged message was delivered (so a
 * message that crashes its consumer's process still reaches the dead-letter topic).
 *
 * Changes go to a small log of its own (acks batched into one record per turn of the event
 * loop, fsynced per the topic's policy before an ack resolves); a snapshot folds that log up
 * now and then so it stays short.
 */
export class GroupState {
  ackFloor = 0
  readonly #acked = new Set<number>()
  readonly #deliveries = new Map<number, number>()
  readonly #dir: string
  readonly #log: Log
  #batch: number[] = []
  #flush: Promise<void> | undefined
  #lastWrite: Promise<unknown> = Promise.resolve()
  #compacting: Promise<void> | undefined

  private constructor(dir: string, log: Log) {
    this.#dir = dir
    this.#log = log
  }

  static async open(dir: string, fsync: FsyncPolicy, logger: Logger): Promise<GroupState> {
    const log = await Log.open({
      dir: join(dir, 'state'),
      fsync,
      logger,
      segmentBytes: 1 << 20,
      snapshotEveryMs: 0,
      // Read only when it is opened.
      tailCacheBytes: 0,
    })
    const state = new GroupState(dir, log)
    try {
      await state.#recover()
    } catch (error) {
      await log.close()
      throw error
    }
    return state
  }

  isAcked(offset: number): boolean {
    return offset < this.ackFloor || this.#acked.has(offset)
  }

  /** Acknowledged offsets at or above the floor. */
  get ackedAbove(): number {
    return this.#acked.size
  }

  deliveries(offset: number): number {
    return this.#deliveries.get(offset) ?? 0
  }

  /** Marks `offset` acknowledged now; resolves once that is durable. */
  ack(offset: number): Promise<void> {
    if (!this.isAcked(offset)) {
      this.#apply(offset)
      this.#batch.push(offset)
    }
    this.#flush ??= new Promise((resolve) => setImmediate(resolve)).then(() => this.#write())
    return this.#flush
  }

  /** Records a delivery (without waiting: a lost count after a crash costs one extra delivery). */
  delivered(offset: number, count: number): void {
    this.#deliveries.set(offset, count)
    const payload = encode(DELIVERY, [offset, count])
    this.#log.append(payload, { durable: false }).catch(() => {})
  }

  /** Moves the floor up to `offset` (messages below it were deleted by retention). */
  skipTo(offset: number): void {
    if (offset <= this.ackFloor) return
    for (const acked of this.#acked) if (acked < offset) this.#acked.delete(acked)
    for (const delivered of this.#deliveries.keys()) {
      if (delivered < offset) this.#deliveries.delete(delivered)
    }
    this.ackFloor = offset
    this.#advance()
  }

  /** Folds the state log into a snapshot when it has grown. */
  async maybeCompact(): Promise<void> {
    if (this.#log.bytes < COMPACT_BYTES) return
    this.#compacting ??= this.#compact().finally(() => {
      this.#compacting = undefined
    })
    await this.#compacting
  }

  async close(): Promise<void> {
    while (this.#flush) await this.#flush.catch(() => {})
    await this.#compacting
    await this.#compact()
    await this.#log.close()
  }

  #apply(offset: number): void {
    this.#deliveries.delete(offset)
    if (offset < this.ackFloor) return
    this.#acked.add(offset)
    this.#advance()
  }

  #advance(): void {
    while (this.#acked.delete(this.ackFloor)) this.ackFloor++
  }

  async #write(): Promise<void> {
    const batch = this.#batch
    this.#batch = []
    this.#flush = undefined
    // An ack of an offset already acked waits for the write that carries it (appends are ordered).
    if (batch.length === 0) return void (await this.#lastWrite.catch(() => {}))
    const write = this.#log.append(encode(ACK, batch))
    this.#lastWrite = write
    await write
  }

  async #compact(): Promise<void> {
    const covered = this.#log.nextOffset
    const snapshot: Snapshot = {
      version: 1,
      covered,
      ackFloor: this.ackFloor,
      acked: [...this.#acked],
      deliveries: [...this.#deliveries],
    }
    // Everything below `covered` is in memory already, and what is in memory is at least as new
    // as the log, so the snapshot may be written before those records are even fsynced.
    await writeFileDurably(join(this.#dir, 'snapshot.json'), JSON.stringify(snapshot))
    await this.#log.deleteBefore(covered)
  }

  async #recover(): Promise<void> {
    let from = this.#log.startOffset
    const snapshot = await readSnapshot(this.#dir)
    if (snapshot) {
      this.ackFloor = snapshot.ackFloor
      for (const offset of snapshot.acked) this.#acked.add(offset)
      for (const [offset, count] of snapshot.deliveries) this.#deliveries.set(offset, count)
      from = snapshot.covered
    }
    if (from < this.#log.startOffset) {
      throw new LogError(
        'E_LOG_CORRUPT',
        `${this.#dir}: group state records ${from}…${this.#log.startOffset - 1} are missing`,
      )
    }
    for (let offset = from; offset < this.#log.nextOffset; ) {
      const records = await this.#log.read(offset, 1000)
      if (records.length === 0) break
      for (const record of records) this.#replay(record.payload)
      offset = records.at(-1)!.offset + 1
    }
  }

  #replay(payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    const kind = view.getUint8(0)
    const values: number[] = []
    for (let at = 8; at + 8 <= payload.length; at += 8) values.push(view.getFloat64(at, true))
    if (kind === ACK) for (const offset of values) this.#apply(offset)
    else if (kind === DELIVERY && !this.isAcked(values[0]!)) {
      this.#deliveries.set(values[0]!, values[1]!)
    }
  }
}

/** A state record: u8 kind, 7 bytes of padding, then f64 values (exact for offsets below 2^53). */
function encode(kind: number, values: number[]): Uint8Array {
  const bytes = new Uint8Array(8 + values.length * 8)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, kind)
  for (const [i, value] of values.entries()) view.setFloat64(8 + i * 8, value, true)
  return bytes
}

async function readSnapshot(dir: string): Promise<Snapshot | undefined> {
  const text = await readTextIfExists(join(dir, 'snapshot.json'))
  if (text === undefined) return undefined
  try {
    const snapshot = JSON.parse(text) as Snapshot
    if (snapshot.version === 1) return snapshot
  } catch {}
  throw new LogError('E_LOG_CORRUPT', `${dir}/snapshot.json is unreadable`)
}
