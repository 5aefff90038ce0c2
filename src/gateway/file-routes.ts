import type { ServerResponse } from 'node:http'
import { freeNow, ownedPieces } from '../codec/index.ts'
import type { FileService } from '../files/index.ts'
import { asksForVariant, parseVariantQuery } from '../images/index.ts'
import { type JobRequest, parseJobRequest } from '../jobs/index.ts'
import type { FileRecord, JobRecord, RunRecord } from '../meta/index.ts'
import { parseRunRequest, type RunRequest } from '../pipelines/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { notModified, rangeApplies } from './conditional.ts'
import { HttpError } from './errors.ts'
import { fileJson, fileLocation } from './file-json.ts'
import { parseRange } from './http-range.ts'
import { distanceParam, fileDuplicates, type ImageRouteOptions } from './image-routes.ts'
import { jobJson } from './job-json.ts'
import { uploadMultipart } from './multipart.ts'
import { decodeCursor, encodeCursor, listPrefix, pageLimit } from './paging.ts'
import { runJson } from './pipeline-json.ts'
import { sendJson } from './respond.ts'
import type { RequestContext, Router } from './router.ts'
import type { GatewayOptions, RoutePolicy } from './server.ts'

/**
 * What an upload starts once it is stored: `then=KIND` a job, `pipeline=NAME` a run (the query
 * of `PUT /v1/files/{name}`, the metadata of a tus upload). Both are checked (the kind's request,
 * the pipeline's existence) before a byte is stored.
 */
export async function followUp(
  then: string | null,
  pipeline: string | null,
  name: string,
  client: string,
  jobs: GatewayOptions['jobs'],
): Promise<FollowUp> {
  if (then === null && pipeline === null) return {}
  if (!jobs) throw new HttpError(400, 'E_BAD_REQUEST', 'jobs are not enabled here')
  if (then !== null && pipeline !== null) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'give one of then and pipeline')
  }
  if (then !== null) return { request: parseJobRequest({ type: then, input: name }, jobs.kinds) }
  const runRequest = parseRunRequest({ pipeline, input: name })
  await jobs.pipelines.get(client, runRequest.pipeline)
  return { runRequest }
}

export interface FollowUp {
  request?: JobRequest
  runRequest?: RunRequest
}

/** Starts what `followUp` checked: the job or run of a stored upload. */
export async function startFollowUp(
  followed: FollowUp,
  client: string,
  jobs: GatewayOptions['jobs'],
): Promise<{ job?: JobRecord; run?: RunRecord }> {
  const job = followed.request && (await jobs!.service.create(client, followed.request)).job
  const run = followed.runRequest && (await jobs!.runs.create(client, followed.runRequest)).run
  return { job, run }
}

/** `/v1/files`: streaming upload, download with ranges and validators, listing, delete. */
export function fileRoutes(
  router: Router,
  files: FileService,
  clients: ClientResolver,
  policy: RoutePolicy,
  jobs?: GatewayOptions['jobs'],
  images?: ImageRouteOptions,
): void {
  /**
   * Queues `image.analyze` for an uploaded image when its client has that on (once per file).
   * The upload is stored whatever happens here: a failure is logged, not the request's.
   */
  const analyze = async (client: string, file: FileRecord, log: RequestContext['log']) => {
    if (!jobs || !images?.analyzeUploads(client) || !looksLikeImage(file)) return
    const request = { type: 'image.analyze', input: file.name, output: '', params: {} }
    await jobs.service.create(client, request, `analyze:${file.id}`).catch((error: unknown) => {
      log.warn({ err: error, name: file.name }, 'could not queue the analysis of an uploaded image')
    })
  }

  router.on('PUT', '/v1/files/*', async ({ req, res, tail, url, log }) => {
    const client = await clients.resolve(req)
    res.once('close', policy.uploads.take(client))
    const followed = await followUp(
      url.searchParams.get('then'),
      url.searchParams.get('pipeline'),
      tail,
      client,
      jobs,
    )
    if (followed.request || followed.runRequest) {
      await policy.shedding.check()
      await policy.quotas.checkJob(client)
    }
    const contentType = req.headers['content-type'] ?? 'application/octet-stream'
    // Refused midway (a quota), the upload stops reading, but the request stays whole: a
    // destroyed request destroys its socket, and the client would get no answer at all.
    const body = ownedPieces(req.iterator({ destroyOnReturn: false }))
    const file = await policy.quotas.put(client, tail, body, contentType)
    await analyze(client, file, log)
    const { job, run } = await startFollowUp(followed, client, jobs)
    sendJson(
      res,
      201,
      {
        ...fileJson(file),
        ...(job ? { job: jobJson(job) } : {}),
        ...(run ? { run: runJson(run) } : {}),
      },
      {
        location: fileLocation(file.name),
      },
    )
  })

  router.on('POST', '/v1/files', async (ctx) => {
    const client = await clients.resolve(ctx.req)
    ctx.res.once('close', policy.uploads.take(client))
    const stored = await uploadMultipart(ctx, client, policy.quotas)
    for (const file of stored) await analyze(client, file, ctx.log)
    sendJson(ctx.res, 201, { files: stored.map(fileJson) })
  })

  router.on('GET', '/v1/files/*', async ({ req, res, tail, log, url }) => {
    const client = await clients.resolve(req)
    // `NAME/duplicates` is a search unless a file has that very name.
    if (images && tail.endsWith(DUPLICATES) && tail.length > DUPLICATES.length) {
      const own = await files.stat(client, tail).catch(() => undefined)
      if (!own) {
        const image = await files.stat(client, tail.slice(0, -DUPLICATES.length))
        const distance = distanceParam(url.searchParams.get('distance'))
        sendJson(res, 200, await fileDuplicates(images.store, image, distance))
        return
      }
    }
    let file = await files.stat(client, tail)
    if (images && asksForVariant(url.searchParams)) {
      const request = parseVariantQuery(url.searchParams, images.limits)
      file = await images.variants.variant(client, file, request)
    }
    const etag = `"${file.sha256}"`
    const modified = new Date(file.created)
    const headers = {
      etag,
      'last-modified': modified.toUTCString(),
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-cache',
    }
    if (notModified(req.headers, etag, modified)) {
      res.writeHead(304, headers).end()
      return
    }
    const range = rangeApplies(req.headers, etag, modified)
      ? parseRange(req.headers.range, file.size)
      : undefined
    if (range === 'unsatisfiable') {
      res.setHeader('content-range', `bytes */${file.size}`)
      throw new HttpError(416, 'E_RANGE', `the range is outside the file (${file.size} bytes)`)
    }
    const length = range ? range.end - range.start + 1 : file.size
    const body = req.method === 'HEAD' || length === 0 ? undefined : files.read(file, range)
    // The first piece before the status line: a first chunk that fails its check (or cannot be
    // read) is then a proper error answer, not a cut connection.
    const first = await body?.next()
    // Counted once the last byte is handed to the socket; a download cut short is not.
    if (req.method !== 'HEAD') {
      res.once('finish', () => {
        files.noteDownload(file, length).catch((error: unknown) => {
          log.warn(
            { err: error, name: file.name },
            'could not record a download for the statistics',
          )
        })
      })
    }
    res.writeHead(range ? 206 : 200, {
      ...headers,
      ...downloadHeaders(file, policy.browser.mayInline(req, url)),
      'content-type': file.contentType,
      'content-length': length,
      ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${file.size}` } : {}),
    })
    if (!body || !first || first.done) {
      res.end()
      return
    }
    await streamFile(res, first.value, body, file, log)
  })

  router.on('DELETE', '/v1/files/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    await files.delete(client, tail)
    res.writeHead(204).end()
  })

  router.on('GET', '/v1/files', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const limit = pageLimit(url.searchParams.get('limit'))
    const cursor = url.searchParams.get('cursor')
    const after = cursor === null ? undefined : decodeCursor(cursor)
    const prefix = listPrefix(url.searchParams.get('prefix'))
    const page = await files.list(client, { prefix, after, limit: limit + 1 })
    const more = page.length > limit
    const shown = page.slice(0, limit)
    sendJson(res, 200, {
      files: shown.map(fileJson),
      next_cursor: more ? encodeCursor(shown[shown.length - 1]!.name) : null,
    })
  })
}

const DUPLICATES = '/duplicates'
const IMAGE_NAME = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif)$/i

/** Worth an `image.analyze` job: typed as an image, or named like one. */
function looksLikeImage(file: FileRecord): boolean {
  if (/^image\/svg/i.test(file.contentType)) return false
  return /^image\//i.test(file.contentType) || IMAGE_NAME.test(file.name)
}

/**
 * Media types a browser would run or render with the gateway's origin: HTML, SVG, XML, scripts
 * (and any type it might sniff as one: nosniff is sent on every answer).
 */
const ACTIVE_TYPE =
  /^\s*(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z]+\/[a-z0-9.+-]*\+xml|text\/javascript|application\/(x-)?javascript|application\/ecmascript|text\/ecmascript|application\/wasm|text\/xsl|multipart\/x-mixed-replace)\s*(;|$)/i

/**
 * Headers that keep a stored file from acting as a page of the gateway (stored XSS): a sandbox
 * CSP (no script, no same-origin access, even if opened), and an attachment disposition for
 * active types, so a browser saves the file instead of rendering it.
 */
function downloadHeaders(file: FileRecord, inline: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': "sandbox; default-src 'none'",
  }
  if (ACTIVE_TYPE.test(file.contentType) && !inline) {
    const base = file.name.slice(file.name.lastIndexOf('/') + 1)
    // RFC 6266 §4.3: an ASCII fallback, and the exact name in RFC 8187 encoding.
    const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_')
    headers['content-disposition'] =
      `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`
  }
  return headers
}

/** Writes the file's bytes with backpressure; a failure after the headers cuts the connection. */
async function streamFile(
  res: ServerResponse,
  first: Uint8Array,
  rest: AsyncGenerator<Uint8Array>,
  file: FileRecord,
  log: RequestContext['log'],
): Promise<void> {
  try {
    // Each piece is a buffer of its own: freed once the socket has it, not by a collection
    // that V8 would only start after ~20 MB of them (a full one, with the heap to mark).
    if (!res.write(first, () => freeNow(first))) await drained(res)
    for await (const piece of rest) {
      if (res.destroyed) break
      if (!res.write(piece, () => freeNow(piece))) await drained(res)
    }
    if (!res.destroyed) res.end()
  } catch (error) {
    // The status line is gone: the only honest signal left is a short body (Content-Length).
    if (!res.req.destroyed) log.error({ err: error, name: file.name }, 'download failed midway')
    res.destroy()
  }
}

/** Resolves when `res` can take more, or has closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
