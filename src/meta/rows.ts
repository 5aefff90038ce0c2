import type { FileRecord, JobRecord, JobState, ManifestEntry } from './records.ts'
import type { Row } from './sql-driver.ts'

// Both drivers return rows of loosely typed columns (PostgreSQL's BIGINT arrives as a string):
// these turn them into records in one place.

export function fileFromRow(row: Row): FileRecord {
  return {
    id: String(row.id),
    clientId: String(row.client_id),
    name: String(row.name),
    size: Number(row.size),
    sha256: String(row.sha256),
    contentType: String(row.content_type),
    chunkCount: Number(row.chunk_count),
    created: Number(row.created),
  }
}

/** A manifest row (`seq`, `start_offset`) with its chunk's (`key`, `size`, `frequencies`). */
export function manifestEntryFromRow(row: Row): ManifestEntry {
  return {
    seq: Number(row.seq),
    offset: Number(row.start_offset),
    key: String(row.key),
    size: Number(row.size),
    frequencies: decodeFrequencies(row.frequencies),
  }
}

export function jobFromRow(row: Row): JobRecord {
  return {
    id: String(row.id),
    clientId: String(row.client_id),
    type: String(row.type),
    state: String(row.state) as JobState,
    input: String(row.input),
    inputs: row.inputs == null ? null : JSON.parse(String(row.inputs)),
    output: String(row.output),
    params: JSON.parse(String(row.params)),
    runId: row.run_id == null ? null : String(row.run_id),
    step: row.step == null ? null : String(row.step),
    item: row.item == null ? null : Number(row.item),
    shard: row.shard == null ? null : Number(row.shard),
    attempt: Number(row.attempt ?? 0),
    result: row.result == null ? null : JSON.parse(String(row.result)),
    error: row.error == null ? null : JSON.parse(String(row.error)),
    idempotencyKey: row.idempotency_key == null ? null : String(row.idempotency_key),
    uploadId: row.upload_id == null ? null : String(row.upload_id),
    published: Number(row.published) === 1,
    version: Number(row.version),
    created: Number(row.created),
    updated: Number(row.updated),
  }
}

/** A frequency table as stored: 256 little-endian u32. */
export function encodeFrequencies(table: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(1024)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < 256; i++) view.setUint32(i * 4, table[i] ?? 0, true)
  return bytes
}

export function decodeFrequencies(value: unknown): Uint32Array {
  const bytes = value as Uint8Array
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) table[i] = view.getUint32(i * 4, true)
  return table
}

/** The smallest string greater than every string that starts with `prefix`, for range scans. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\u{10FFFF}`
}
