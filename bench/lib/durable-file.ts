import { link, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Writes `source` into `dir/name` as a durable file and nothing more (no Piper code): a
 * temporary file, fsync, link, the folder's fsync — what a storage node or the fs blob store
 * does for a chunk, the floors' unit of a durable write. A name there already is left as it is.
 */
export async function writeDurably(
  dir: string,
  name: string,
  source: Uint8Array | AsyncIterable<unknown>,
): Promise<void> {
  const tmp = join(dir, `${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  const file = await open(tmp, 'wx')
  if (source instanceof Uint8Array) await file.write(source)
  else for await (const piece of source) await file.write(piece as Buffer)
  await file.sync()
  await file.close()
  await link(tmp, join(dir, name)).catch(() => {})
  await unlink(tmp)
  const folder = await open(dir, 'r')
  await folder.sync()
  await folder.close()
}
