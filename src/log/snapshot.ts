import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { writeFileDurably } from './durable-file.ts'

const MAGIC = 0x4e534c50 // "PLSN"
const VERSION = 1

/** The active segment's state at snapshot time: replay starts at `size`. */
export interface Snapshot {
  base: number
  size: number
  positions: Uint32Array
}

/**
 * The in-memory index of the active segment, so start-up reads only what was appended after
 * it (sealed segments have index files of their own). Layout: u32 magic, u32 version,
 * u64 base (two u32), u32 size, u32 count, positions, u32 crc32 of all before.
 */
export async function writeSnapshot(dir: string, snapshot: Snapshot): Promise<void> {
  const count = snapshot.positions.length
  const body = Buffer.alloc(24 + count * 4)
  body.writeUInt32LE(MAGIC, 0)
  body.writeUInt32LE(VERSION, 4)
  body.writeUInt32LE(snapshot.base % 2 ** 32, 8)
  body.writeUInt32LE(Math.floor(snapshot.base / 2 ** 32), 12)
  body.writeUInt32LE(snapshot.size, 16)
  body.writeUInt32LE(count, 20)
  Buffer.from(snapshot.positions.buffer, snapshot.positions.byteOffset, count * 4).copy(body, 24)
  const crc = Buffer.alloc(4)
  crc.writeUInt32LE(crc32(body), 0)
  await writeFileDurably(join(dir, 'snapshot'), Buffer.concat([body, crc]))
}

/** The snapshot, or why it cannot be used (missing, corrupt, another version). */
export async function readSnapshot(dir: string): Promise<Snapshot | string> {
  let bytes: Buffer
  try {
    bytes = await readFile(join(dir, 'snapshot'))
  } catch {
    return 'no snapshot'
  }
  if (bytes.length < 28) return 'snapshot is truncated'
  const body = bytes.subarray(0, bytes.length - 4)
  if (crc32(body) !== bytes.readUInt32LE(bytes.length - 4)) return 'snapshot CRC mismatch'
  if (body.readUInt32LE(0) !== MAGIC || body.readUInt32LE(4) !== VERSION) {
    return 'snapshot has another format'
  }
  const count = body.readUInt32LE(20)
  if (body.length !== 24 + count * 4) return 'snapshot length mismatch'
  const positions = new Uint32Array(count)
  for (let i = 0; i < count; i++) positions[i] = body.readUInt32LE(24 + i * 4)
  return {
    base: body.readUInt32LE(8) + body.readUInt32LE(12) * 2 ** 32,
    size: body.readUInt32LE(16),
    positions,
  }
}
