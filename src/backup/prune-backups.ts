import type { BlobStore } from '../blobs/index.ts'
import { backupChunks, listBackups } from './backup-catalog.ts'
import { backupKeys, CHUNK_KEY } from './backup-layout.ts'
import { planRetention, type RetentionPolicy } from './retention.ts'

export interface PruneResult {
  kept: string[]
  deleted: string[]
  chunksDeleted: number
  bytesFreed: number
}

/**
 * Deletes the backups `policy` does not keep, the cut-off ones older than the newest complete
 * one, and every chunk no kept backup references. The caller holds the `backup` lease: a backup
 * copying chunks meanwhile would lose those it has not referenced in a manifest yet.
 */
export async function pruneBackups(o: {
  store: BlobStore
  policy: RetentionPolicy
  dryRun?: boolean
}): Promise<PruneResult> {
  const all = await listBackups(o.store)
  const complete = all.filter((b) => b.state === 'complete')
  const keep = planRetention(complete, o.policy)
  const newest = complete[complete.length - 1]?.started ?? Number.NEGATIVE_INFINITY
  const doomed = all.filter(
    (b) =>
      (b.state === 'complete' && !keep.has(b.id)) ||
      (b.state === 'incomplete' && b.started < newest),
  )
  const referenced = new Set<string>()
  for (const b of complete.filter((b) => keep.has(b.id))) {
    for (const key of (await backupChunks(o.store, b.manifest!)).keys()) referenced.add(key)
  }
  const result: PruneResult = {
    kept: [...keep].sort(),
    deleted: [],
    chunksDeleted: 0,
    bytesFreed: 0,
  }
  for (const b of doomed) {
    // The manifest first: a backup half deleted is then an incomplete one, never a complete one.
    const keys = backupKeys(b.id)
    if (!o.dryRun) {
      for (const key of [keys.manifest, keys.metadata, keys.begun]) await o.store.delete(key)
    }
    result.deleted.push(b.id)
  }
  for await (const blob of o.store.list()) {
    if (!CHUNK_KEY.test(blob.key) || referenced.has(blob.key)) continue
    if (!o.dryRun) await o.store.delete(blob.key)
    result.chunksDeleted++
    result.bytesFreed += blob.size
  }
  return result
}
