import { randomBytes } from 'node:crypto'
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises'

/** Whether a regular file is at `path`: what `--force` must allow before it is replaced. */
export async function regularFileAt(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info?.isFile() === true
}

/**
 * Writes `path` through `write`. A regular file (or a new one) is written beside its final name
 * and renamed over it at the end, so a failure never leaves half a file under that name.
 * Anything else already there (a device such as /dev/null, a pipe) is written in place:
 * renaming over it would replace it with a file.
 */
export async function writeOutputFile(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
): Promise<void> {
  const info = await stat(path).catch(() => undefined)
  if (info && !info.isFile()) {
    const handle = await open(path, 'w')
    try {
      await write(handle)
    } finally {
      await handle.close()
    }
    return
  }
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(temporary, 'wx')
    try {
      await write(handle)
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** Writes all of `bytes` at the handle's position (a write may take fewer). */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten
  }
}
