import { referenceChunks, releaseChunks } from './sql-chunk-refs.ts'
import { ensureClient } from './sql-clients.ts'
import type { Row, SqlDriver } from './sql-driver.ts'
import type { TusProgress, TusUploadRecord } from './tus-upload-store.ts'

const COLUMNS =
  'id, client_id, upload_id, name, length, received, next_seq, metadata, concat, file_id, created, expires'

function recordFrom(row: Row): TusUploadRecord {
  return {
    id: String(row.id),
    clientId: String(row.client_id),
    uploadId: String(row.upload_id),
    name: String(row.name),
    length: row.length == null ? undefined : Number(row.length),
    received: Number(row.received),
    nextSeq: Number(row.next_seq),
    metadata: JSON.parse(String(row.metadata)) as Record<string, string>,
    concat: row.concat == null ? undefined : String(row.concat),
    fileId: row.file_id == null ? undefined : String(row.file_id),
    created: Number(row.created),
    expires: Number(row.expires),
  }
}

export function createTusUpload(driver: SqlDriver, r: TusUploadRecord): Promise<void> {
  return driver.transaction(async (tx) => {
    await ensureClient(driver, tx, r.clientId)
    await tx.run(
      `INSERT INTO tus_uploads (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        r.id,
        r.clientId,
        r.uploadId,
        r.name,
        r.length ?? null,
        r.received,
        r.nextSeq,
        JSON.stringify(r.metadata),
        r.concat ?? null,
        r.fileId ?? null,
        r.created,
        r.expires,
      ],
    )
  })
}

export async function getTusUpload(
  driver: SqlDriver,
  clientId: string,
  id: string,
): Promise<TusUploadRecord | undefined> {
  const rows = await driver.all(
    `SELECT ${COLUMNS} FROM tus_uploads WHERE id = $1 AND client_id = $2`,
    [id, clientId],
  )
  return rows[0] && recordFrom(rows[0])
}

export async function advanceTusUpload(
  driver: SqlDriver,
  id: string,
  from: TusProgress,
  to: TusProgress,
): Promise<boolean> {
  // The length may only go from deferred to known; `IS NOT DISTINCT FROM` is spelled out for
  // SQLite, which lacks it before 3.39.
  const changed = await driver.run(
    `UPDATE tus_uploads SET received = $1, next_seq = $2, length = $3, expires = $4
      WHERE id = $5 AND received = $6 AND next_seq = $7 AND file_id IS NULL
        AND (length = $8 OR (length IS NULL AND $8 IS NULL))`,
    [
      to.received,
      to.nextSeq,
      to.length ?? null,
      to.expires,
      id,
      from.received,
      from.nextSeq,
      from.length ?? null,
    ],
  )
  return changed > 0
}

export async function completeTusUpload(
  driver: SqlDriver,
  id: string,
  fileId: string,
): Promise<void> {
  await driver.run('UPDATE tus_uploads SET file_id = $1 WHERE id = $2', [fileId, id])
}

export async function deleteTusUpload(driver: SqlDriver, id: string): Promise<boolean> {
  return (await driver.run('DELETE FROM tus_uploads WHERE id = $1', [id])) > 0
}

export async function expiredTusUploads(
  driver: SqlDriver,
  now: number,
  limit: number,
): Promise<TusUploadRecord[]> {
  const rows = await driver.all(
    `SELECT ${COLUMNS} FROM tus_uploads WHERE expires <= $1 ORDER BY expires LIMIT $2`,
    [now, limit],
  )
  return rows.map(recordFrom)
}

export function truncateUpload(
  driver: SqlDriver,
  uploadId: string,
  fromSeq: number,
): Promise<string[]> {
  return driver.transaction(async (tx) => {
    const rows = await tx.all(
      'SELECT chunk_key FROM upload_chunks WHERE upload_id = $1 AND seq >= $2',
      [uploadId, fromSeq],
    )
    await tx.run('DELETE FROM upload_chunks WHERE upload_id = $1 AND seq >= $2', [
      uploadId,
      fromSeq,
    ])
    return releaseChunks(
      tx,
      rows.map((r) => String(r.chunk_key)),
    )
  })
}

export function appendUploadChunks(
  driver: SqlDriver,
  uploadId: string,
  fromUploadId: string,
  atSeq: number,
): Promise<number> {
  return driver.transaction(async (tx) => {
    const rows = await tx.all(
      'SELECT chunk_key FROM upload_chunks WHERE upload_id = $1 ORDER BY seq',
      [fromUploadId],
    )
    const keys = rows.map((r) => String(r.chunk_key))
    await referenceChunks(tx, keys)
    // A tus upload's positions run from 0 without gaps (each PATCH appends at next_seq, a
    // refused one is cut off at its start), so the source's seq is its index.
    await tx.run(
      `INSERT INTO upload_chunks (upload_id, seq, chunk_key, source_size, shared)
        SELECT $1, $2 + seq, chunk_key, NULL, shared FROM upload_chunks WHERE upload_id = $3`,
      [uploadId, atSeq, fromUploadId],
    )
    await tx.run('UPDATE uploads SET touched = $1 WHERE id = $2', [Date.now(), uploadId])
    return keys.length
  })
}
