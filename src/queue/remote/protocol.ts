import { QueueError } from '../errors.ts'

/** Version of the wire protocol (docs/queue-protocol.md); a hello naming another is refused. */
export const PROTOCOL_VERSION = 1
/** The WebSocket subprotocol both sides name. */
export const SUBPROTOCOL = 'piper.queue.v1'
/** WebSocket close codes (RFC 6455 §7.4.1 and the private range). */
export const CLOSE = { normal: 1000, goingAway: 1001, protocol: 1002, policy: 1008, auth: 4001 }
/** Largest frame accepted: a 64 MiB record plus its envelope. */
export const MAX_FRAME_BYTES = 80 << 20

/** The JSON part of a frame: an operation (or a reply) and its fields. */
export interface FrameHead {
  op: string
  /** Request id, unique within a session; replies carry the id they answer. */
  id?: number
  /** On a request: every reply to a request below this id has arrived (the server forgets them). */
  received?: number
  /** Byte lengths of the payloads that follow the JSON, in order. */
  sizes?: number[]
  [field: string]: unknown
}

export interface Frame {
  head: FrameHead
  payloads: Uint8Array[]
}

/** `u32 jsonLength (LE) | JSON | payload…`: binary so payloads travel without base64. */
export function encodeFrame(head: FrameHead, payloads: readonly Uint8Array[] = []): Buffer {
  const json = Buffer.from(
    JSON.stringify(payloads.length > 0 ? { ...head, sizes: payloads.map((p) => p.length) } : head),
  )
  const size = 4 + json.length + payloads.reduce((sum, p) => sum + p.length, 0)
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32LE(json.length, 0)
  json.copy(out, 4)
  let at = 4 + json.length
  for (const p of payloads) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Parses a frame; anything malformed is `E_QUEUE_PROTOCOL` saying what. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const fail = (why: string): never => {
    throw new QueueError('E_QUEUE_PROTOCOL', `malformed frame: ${why}`)
  }
  if (bytes.length < 4) fail('shorter than its 4-byte header')
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const jsonLength = view.readUInt32LE(0)
  if (4 + jsonLength > bytes.length) fail(`JSON length ${jsonLength} runs past the frame`)
  let head: FrameHead
  try {
    head = JSON.parse(view.toString('utf8', 4, 4 + jsonLength)) as FrameHead
  } catch {
    return fail('the JSON part does not parse')
  }
  if (typeof head !== 'object' || head === null || typeof head.op !== 'string') {
    fail('no "op"')
  }
  if (head.id !== undefined && !Number.isSafeInteger(head.id)) fail('"id" is not an integer')
  if (head.received !== undefined && !Number.isSafeInteger(head.received)) {
    fail('"received" is not an integer')
  }
  const sizes = head.sizes ?? []
  if (!Array.isArray(sizes) || sizes.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    fail('"sizes" is not a list of lengths')
  }
  const payloads: Uint8Array[] = []
  let at = 4 + jsonLength
  for (const size of sizes) {
    if (at + size > bytes.length) fail('payloads run past the frame')
    payloads.push(bytes.subarray(at, at + size))
    at += size
  }
  if (at !== bytes.length) fail(`${bytes.length - at} bytes after the last payload`)
  return { head, payloads }
}
