import type { BlobStore } from '../blobs/index.ts'
import { parseMemberHeader } from '../codec/index.ts'
import type { ManifestEntry } from '../meta/index.ts'

/** Enough bytes for a gzip header with Piper's FEXTRA subfield. */
const HEADER_PROBE = 64

/**
 * Whether every chunk of a gzip file is exactly one Piper member (a file Piper compressed), so
 * each decodes alone; the total output size when so, otherwise undefined (decode as one stream).
 */
export async function piperMembers(
  blobs: BlobStore,
  manifest: readonly ManifestEntry[],
): Promise<{ outputBytes: number } | undefined> {
  if (manifest.length === 0) return undefined
  let outputBytes = 0
  for (const [member, entry] of manifest.entries()) {
    const end = Math.min(entry.size, HEADER_PROBE) - 1
    const pieces: Uint8Array[] = []
    for await (const piece of await blobs.get(entry.key, { start: 0, end })) pieces.push(piece)
    let header: ReturnType<typeof parseMemberHeader>
    try {
      header = parseMemberHeader(Buffer.concat(pieces), 0, member, entry.offset)
    } catch {
      return undefined // not gzip here: the stream decoder reports it with its position
    }
    if (header?.piper?.memberSize !== entry.size) return undefined
    outputBytes += header.piper.isize
  }
  return { outputBytes }
}
