import { open, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replaces `path` with `bytes` so that a crash leaves either the old file or the new one: write
 * a temporary file, fsync it, rename it over `path`, fsync the folder (the rename is only
 * durable once the directory entry is).
 */
export async function writeFileDurably(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, bytes, { flush: true })
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
