import { bandProbes, bandsOf, hammingDistance } from './hamming.ts'
import type {
  HashedImage,
  ImageBucket,
  ImageEntry,
  ImageMatch,
  ImageOutputBucket,
  ImageOutputsEntry,
} from './image-store.ts'
import type { SqlDriver } from './sql-driver.ts'

// Image hashes, statistics and figures on SQL (`ImageStore`), for SQLite and PostgreSQL alike.

/** The widest near-duplicate search: ⌊12/4⌋ = 3 flips per band, 697 probes per band. */
export const MAX_IMAGE_DISTANCE = 12

export async function saveImage(driver: SqlDriver, entry: ImageEntry): Promise<void> {
  const bands = entry.phash === undefined ? [null, null, null, null] : bandsOf(entry.phash)
  await driver.transaction(async (tx) => {
    // A file deleted meanwhile has no entry to make (its id would fail the foreign key).
    const file = await tx.all('SELECT 1 FROM files WHERE id = $1', [entry.fileId])
    if (file.length === 0) return
    await tx.run(
      `INSERT INTO images (file_id, client_id, format, width, height, bytes, phash, dhash,
         band0, band1, band2, band3, stats, created)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (file_id) DO UPDATE SET
         phash = COALESCE(excluded.phash, images.phash),
         dhash = COALESCE(excluded.dhash, images.dhash),
         band0 = COALESCE(excluded.band0, images.band0),
         band1 = COALESCE(excluded.band1, images.band1),
         band2 = COALESCE(excluded.band2, images.band2),
         band3 = COALESCE(excluded.band3, images.band3),
         stats = COALESCE(excluded.stats, images.stats)`,
      [
        entry.fileId,
        entry.clientId,
        entry.format,
        entry.width,
        entry.height,
        entry.bytes,
        entry.phash ?? null,
        entry.dhash ?? null,
        ...bands,
        entry.stats === undefined ? null : JSON.stringify(entry.stats),
        Date.now(),
      ],
    )
  })
}

export async function image(driver: SqlDriver, fileId: string): Promise<ImageEntry | undefined> {
  const [row] = await driver.all('SELECT * FROM images WHERE file_id = $1', [fileId])
  if (!row) return undefined
  return {
    fileId: String(row.file_id),
    clientId: String(row.client_id),
    format: String(row.format),
    width: Number(row.width),
    height: Number(row.height),
    bytes: Number(row.bytes),
    ...(row.phash == null ? {} : { phash: String(row.phash), dhash: String(row.dhash) }),
    ...(row.stats == null ? {} : { stats: JSON.parse(String(row.stats)) }),
  }
}

/**
 * Multi-index lookup: for each band, the rows whose band is within ⌊distance/4⌋ bits of the
 * query's (values computed here, so inlined as integer literals), then the exact distance.
 */
export async function nearImages(
  driver: SqlDriver,
  clientId: string,
  phash: string,
  distance: number,
): Promise<ImageMatch[]> {
  if (!/^[0-9a-f]{16}$/.test(phash)) throw new Error(`not a 64-bit hash in hex: ${phash}`)
  const flips = Math.floor(distance / 4)
  const selects = bandsOf(phash).map(
    (band, i) =>
      `SELECT f.name, f.sha256, i.phash FROM images i JOIN files f ON f.id = i.file_id
       WHERE i.client_id = $1 AND i.band${i} IN (${bandProbes(band, flips).join(',')})`,
  )
  const rows = await driver.all(selects.join(' UNION ALL '), [clientId])
  const seen = new Map<string, ImageMatch>()
  for (const row of rows) {
    const match = {
      name: String(row.name),
      sha256: String(row.sha256),
      phash: String(row.phash),
      distance: hammingDistance(phash, String(row.phash)),
    }
    if (match.distance <= distance) seen.set(match.name, match)
  }
  return [...seen.values()].sort((a, b) => a.distance - b.distance || compare(a.name, b.name))
}

export async function hashedImages(
  driver: SqlDriver,
  clientId: string,
  options: { after?: string; limit: number },
): Promise<HashedImage[]> {
  const rows = await driver.all(
    `SELECT f.name, f.sha256, f.size, i.phash FROM images i JOIN files f ON f.id = i.file_id
     WHERE i.client_id = $1 AND i.phash IS NOT NULL AND f.name > $2
     ORDER BY f.name LIMIT $3`,
    [clientId, options.after ?? '', options.limit],
  )
  return rows.map((row) => ({
    name: String(row.name),
    sha256: String(row.sha256),
    size: Number(row.size),
    phash: String(row.phash),
  }))
}

export async function saveImageOutputs(driver: SqlDriver, entry: ImageOutputsEntry): Promise<void> {
  await driver.run(
    `INSERT INTO image_outputs (job_id, client_id, kind, outputs, bytes_in, bytes_out, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id) DO NOTHING`,
    [
      entry.jobId,
      entry.clientId,
      entry.kind,
      entry.outputs,
      entry.bytesIn,
      entry.bytesOut,
      Date.now(),
    ],
  )
}

export async function imageBuckets(
  driver: SqlDriver,
  clientId: string,
  range: { from: number; to: number; bucketMs: number },
): Promise<{ images: ImageBucket[]; outputs: ImageOutputBucket[]; dedupBytes: number }> {
  const params = [clientId, range.from, range.to, range.bucketMs]
  const imageRows = await driver.all(
    `SELECT created - (created % $4) AS start, format, COUNT(*) AS n,
       SUM(width * height) AS pixels, SUM(bytes) AS bytes
     FROM images WHERE client_id = $1 AND created >= $2 AND created < $3
     GROUP BY created - (created % $4), format ORDER BY 1`,
    params,
  )
  const images = new Map<number, ImageBucket>()
  for (const row of imageRows) {
    const start = Number(row.start)
    let bucket = images.get(start)
    if (!bucket) {
      bucket = { start, images: 0, pixels: 0, bytes: 0, formats: {} }
      images.set(start, bucket)
    }
    bucket.images += Number(row.n)
    bucket.pixels += Number(row.pixels)
    bucket.bytes += Number(row.bytes)
    bucket.formats[String(row.format)] = Number(row.n)
  }
  const outputRows = await driver.all(
    `SELECT created - (created % $4) AS start, kind, COUNT(*) AS jobs, SUM(outputs) AS outputs,
       SUM(bytes_in) AS bytes_in, SUM(bytes_out) AS bytes_out
     FROM image_outputs WHERE client_id = $1 AND created >= $2 AND created < $3
     GROUP BY created - (created % $4), kind ORDER BY 1, 2`,
    params,
  )
  const outputs = outputRows.map((row) => ({
    start: Number(row.start),
    kind: String(row.kind),
    jobs: Number(row.jobs),
    outputs: Number(row.outputs),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  }))
  const [dedup] = await driver.all(
    `SELECT SUM((n - 1) * size) AS saved FROM (
       SELECT COUNT(*) AS n, MAX(f.size) AS size FROM images i JOIN files f ON f.id = i.file_id
       WHERE i.client_id = $1 AND i.created >= $2 AND i.created < $3 GROUP BY f.sha256) t`,
    params.slice(0, 3),
  )
  return { images: [...images.values()], outputs, dedupBytes: Number(dedup?.saved ?? 0) }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
