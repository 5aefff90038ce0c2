import {
  duplicateClusters,
  hammingDistance,
  type ImageLimits,
  type OnDemandVariants,
} from '../images/index.ts'
import { type FileRecord, type ImageStore, MAX_IMAGE_DISTANCE } from '../meta/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

/** What the gateway needs for images. */
export interface ImageRouteOptions {
  store: ImageStore
  variants: OnDemandVariants
  limits: ImageLimits
  /** Whether an image this client uploads gets an `image.analyze` job. */
  analyzeUploads(clientId: string): boolean
}

/** Images a `GET /v1/duplicates` clusters at most; past it the answer says `truncated`. */
const MAX_CLUSTERED = 200_000
const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const
const DAY = BUCKETS.day

/** `?distance=N`: bits two pHashes may differ by, 0 to 12 (6 when absent). */
export function distanceParam(raw: string | null): number {
  if (raw === null) return 6
  const value = Number(raw)
  if (!/^\d{1,2}$/.test(raw) || value > MAX_IMAGE_DISTANCE) {
    throw new HttpError(
      400,
      'E_BAD_REQUEST',
      `distance must be a whole number from 0 to ${MAX_IMAGE_DISTANCE}`,
    )
  }
  return value
}

/**
 * `GET /v1/files/{name}/duplicates`: files with the same content, and hashed images within
 * `distance` bits of its pHash (an indexed, exact search). The file must have been hashed
 * (`image.hash` or `image.analyze`, which uploads run when `imageAnalyzeUploads` says so).
 */
export async function fileDuplicates(
  store: ImageStore,
  file: FileRecord,
  distance: number,
): Promise<Record<string, unknown>> {
  const entry = await store.image(file.id)
  if (!entry?.phash) {
    throw new HttpError(
      409,
      'E_IMAGE_NOT_INDEXED',
      `${file.name} has no perceptual hash yet: run an image.hash or image.analyze job on it`,
    )
  }
  const near = await store.nearImages(file.clientId, entry.phash, distance)
  const others = near.filter((m) => m.name !== file.name)
  return {
    name: file.name,
    sha256: file.sha256,
    phash: entry.phash,
    distance,
    exact: others.filter((m) => m.sha256 === file.sha256).map((m) => m.name),
    near: others.map((m) => ({ name: m.name, sha256: m.sha256, distance: m.distance })),
  }
}

/** `/v1/duplicates` (clusters of near-duplicate images) and `/v1/stats/images`. */
export function imageRoutes(router: Router, store: ImageStore, clients: ClientResolver): void {
  router.on('GET', '/v1/duplicates', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const distance = distanceParam(url.searchParams.get('distance'))
    const images = []
    let after: string | undefined
    for (;;) {
      const page = await store.hashedImages(client, { after, limit: 5000 })
      images.push(...page)
      if (page.length < 5000 || images.length >= MAX_CLUSTERED) break
      after = page[page.length - 1]!.name
    }
    const truncated = images.length >= MAX_CLUSTERED
    const clusters = duplicateClusters(images.slice(0, MAX_CLUSTERED), distance)
    sendJson(res, 200, {
      distance,
      images: Math.min(images.length, MAX_CLUSTERED),
      truncated,
      clusters: clusters.map((members) => ({
        files: members.map((m) => ({
          name: m.name,
          sha256: m.sha256,
          size: m.size,
          distance: hammingDistance(members[0]!.phash, m.phash),
        })),
      })),
    })
  })

  router.on('GET', '/v1/stats/images', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const bucketName = url.searchParams.get('bucket') ?? 'day'
    if (!(bucketName in BUCKETS)) {
      throw new HttpError(400, 'E_BAD_REQUEST', 'bucket must be one of minute, hour, day')
    }
    const bucketMs = BUCKETS[bucketName as keyof typeof BUCKETS]
    const to = timeParam(url.searchParams.get('to'), 'to') ?? Date.now() + 1
    const from = timeParam(url.searchParams.get('from'), 'from') ?? to - 30 * DAY
    if (from >= to) throw new HttpError(400, 'E_BAD_REQUEST', 'from must be before to')
    if ((to - from) / bucketMs > 10_000) {
      throw new HttpError(
        400,
        'E_BAD_REQUEST',
        'at most 10000 buckets: widen bucket or narrow from/to',
      )
    }
    const figures = await store.imageBuckets(client, { from, to, bucketMs })
    const sum = <T>(rows: T[], pick: (row: T) => number) =>
      rows.reduce((n, row) => n + pick(row), 0)
    const converted = figures.outputs.filter((o) => o.kind === 'image.convert')
    sendJson(res, 200, {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bucket: bucketName,
      totals: {
        images: sum(figures.images, (b) => b.images),
        pixels: sum(figures.images, (b) => b.pixels),
        bytes: sum(figures.images, (b) => b.bytes),
        outputs: sum(figures.outputs, (b) => b.outputs),
        variants: sum(
          figures.outputs.filter((o) => o.kind === 'image.variants'),
          (b) => b.outputs,
        ),
        bytes_saved_by_conversion: sum(converted, (b) => b.bytesIn - b.bytesOut),
        bytes_saved_by_dedup: figures.dedupBytes,
      },
      images: figures.images.map((b) => ({ ...b, start: new Date(b.start).toISOString() })),
      outputs: figures.outputs.map((b) => ({
        start: new Date(b.start).toISOString(),
        kind: b.kind,
        jobs: b.jobs,
        outputs: b.outputs,
        bytes_in: b.bytesIn,
        bytes_out: b.bytesOut,
      })),
    })
  })
}

/** An ISO 8601 time or milliseconds since the epoch. */
function timeParam(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(value)) {
    throw new HttpError(400, 'E_BAD_REQUEST', `${name} must be an ISO 8601 time or milliseconds`)
  }
  return value
}
