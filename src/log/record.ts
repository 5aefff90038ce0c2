import { crc32 } from 'node:zlib'

/** A record as stored: offset, timestamp (ms), string headers and an opaque payload. */
export interface LogRecord {
  offset: number
  timestamp: number
  headers: Record<string, string>
  payload: Uint8Array
}

/**
 * On-disk layout of one record (little-endian), version 1 — see docs/log-format.md:
 *
 *   u32 length   bytes after this field
 *   u32 crc32    of every byte after this field
 *   u64 offset   u64 timestamp (ms since the epoch)
 *   u32 headers  byte length of the headers (JSON object of strings, UTF-8)
 *   headers, then payload (the rest)
 */
export const RECORD_HEADER = 28

/** Largest record accepted (payload and headers together). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024

const NO_HEADERS = new Uint8Array(0)

/** A record's headers as stored: a JSON object of strings, or nothing when there are none. */
export function encodeHeaders(headers: Record<string, string>): Uint8Array {
  for (const _ in headers) return Buffer.from(JSON.stringify(headers))
  return NO_HEADERS
}

/** The bytes of a record. */
export function encodeRecord(record: LogRecord): Uint8Array {
  const headers = encodeHeaders(record.headers)
  const out = new Uint8Array(RECORD_HEADER + headers.length + record.payload.length)
  writeRecord(new DataView(out.buffer), out, 0, record, headers)
  return out
}

/**
 * Writes `record` (its headers already encoded) into `out` at `at`, where `view` views all of
 * `out`; returns the position after it. Lets a batch of records go into one buffer.
 */
export function writeRecord(
  view: DataView,
  out: Uint8Array,
  at: number,
  record: Omit<LogRecord, 'headers'>,
  headers: Uint8Array,
): number {
  const end = at + RECORD_HEADER + headers.length + record.payload.length
  view.setUint32(at, end - at - 4, true)
  writeU64(view, at + 8, record.offset)
  writeU64(view, at + 16, record.timestamp)
  view.setUint32(at + 24, headers.length, true)
  out.set(headers, at + RECORD_HEADER)
  out.set(record.payload, at + RECORD_HEADER + headers.length)
  view.setUint32(at + 4, crc32(out.subarray(at + 8, end)), true)
  return end
}

/** What `decodeRecord` found at a position. */
export type Decoded =
  | { kind: 'record'; record: LogRecord; size: number }
  | { kind: 'incomplete' }
  | { kind: 'corrupt'; reason: string }

/** Decodes the record starting at `pos` of `bytes`. */
export function decodeRecord(bytes: Uint8Array, pos: number): Decoded {
  if (bytes.length - pos < RECORD_HEADER) return { kind: 'incomplete' }
  const view = new DataView(bytes.buffer, bytes.byteOffset + pos, bytes.length - pos)
  const length = view.getUint32(0, true)
  if (length < RECORD_HEADER - 4 || length > MAX_RECORD_BYTES + RECORD_HEADER) {
    return { kind: 'corrupt', reason: `impossible record length ${length}` }
  }
  if (bytes.length - pos < length + 4) return { kind: 'incomplete' }
  const body = bytes.subarray(pos + 8, pos + 4 + length)
  if (crc32(body) !== view.getUint32(4, true)) return { kind: 'corrupt', reason: 'CRC mismatch' }
  const headersLength = view.getUint32(24, true)
  if (headersLength > length + 4 - RECORD_HEADER) {
    return { kind: 'corrupt', reason: `headers of ${headersLength} bytes overrun the record` }
  }
  const headerStart = pos + RECORD_HEADER
  let headers: Record<string, string> = {}
  if (headersLength > 0) {
    try {
      headers = JSON.parse(
        Buffer.from(bytes.subarray(headerStart, headerStart + headersLength)).toString('utf8'),
      )
    } catch {
      return { kind: 'corrupt', reason: 'headers are not JSON' }
    }
  }
  return {
    kind: 'record',
    size: length + 4,
    record: {
      offset: readU64(view, 8),
      timestamp: readU64(view, 16),
      headers,
      payload: bytes.subarray(headerStart + headersLength, pos + 4 + length),
    },
  }
}

// Offsets and timestamps stay below 2^53, so two u32 halves keep them plain numbers.
function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % 2 ** 32, true)
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true)
}

function readU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32
}
