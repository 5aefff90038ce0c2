import { open, readFile, rename, writeFile } from 'node:fs/promises'
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
  await syncDirectory(dirname(path))
}

/**
 * fsyncs a folder, so that the entries made in it (a new file, a rename) survive a power cut:
 * fsync of a file does not make its directory entry durable (fsync(2), "Notes").
 */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** The text of `path`, or undefined when it does not exist (other failures throw). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
