import type { IncomingMessage } from 'node:http'
import { ownedPieces } from '../codec/index.ts'
import type { TusUploadRecord } from '../meta/index.ts'
import {
  CHECKSUM_ALGORITHMS,
  formatUploadMetadata,
  parseUploadMetadata,
  type TusAnswer,
  TusError,
  type TusUploads,
} from '../tus/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { type FollowUp, followUp, startFollowUp } from './file-routes.ts'
import type { RequestContext, Router } from './router.ts'
import type { GatewayOptions, RoutePolicy } from './server.ts'

const TUS_VERSION = '1.0.0'
const EXTENSIONS =
  'creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation'
const PATCH_TYPE = 'application/offset+octet-stream'
const BASE = '/v1/tus/'

/**
 * `/v1/tus/`: the tus 1.0 resumable upload protocol (https://tus.io/protocols/resumable-upload)
 * with its creation, creation-with-upload, creation-defer-length, termination, checksum,
 * expiration and concatenation extensions. A completed upload is an ordinary file; metadata
 * `then` or `pipeline` starts a job or run on it, as `PUT /v1/files/{name}?then=…` does.
 */
export function tusRoutes(
  router: Router,
  tus: TusUploads | undefined,
  clients: ClientResolver,
  policy: RoutePolicy,
  jobs: GatewayOptions['jobs'],
): void {
  if (!tus) return
  const options = async ({ res }: RequestContext) => {
    res.writeHead(204, {
      'tus-resumable': TUS_VERSION,
      'tus-version': TUS_VERSION,
      'tus-extension': EXTENSIONS,
      'tus-checksum-algorithm': CHECKSUM_ALGORITHMS.join(','),
      ...(tus.maxSize > 0 ? { 'tus-max-size': String(tus.maxSize) } : {}),
    })
    res.end()
  }

  const create = async ({ req, res, log }: RequestContext) => {
    const client = await clients.resolve(req)
    const metadata = parseUploadMetadata(header(req, 'upload-metadata'))
    const concat = header(req, 'upload-concat')
    if (concat?.startsWith('final;')) {
      await concatenate(res, log, client, metadata, concat)
      return
    }
    if (concat !== undefined && concat !== 'partial') {
      throw new TusError('E_TUS_REQUEST', 'Upload-Concat must be partial or final;URL …')
    }
    const partial = concat === 'partial'
    const length = creationLength(req)
    const followed = partial ? {} : await checkFollowUp(metadata, client, jobs)
    if (!partial && length !== undefined) await checkQuota(client, metadata, length)
    if (followed.request || followed.runRequest) {
      await policy.shedding.check()
      await policy.quotas.checkJob(client)
    }
    const withBody = hasBody(req)
    if (withBody) {
      checkPatchType(req)
      res.once('close', policy.uploads.take(client))
    }
    let answer: TusAnswer = { upload: await tus.create(client, { length, metadata, partial }) }
    if (withBody) {
      answer = await tus.patch(client, answer.upload.id, {
        offset: 0,
        checksum: header(req, 'upload-checksum'),
        body: ownedPieces(req.iterator({ destroyOnReturn: false })),
      })
    }
    res.writeHead(201, {
      location: BASE + answer.upload.id,
      ...progressHeaders(answer.upload),
      ...(await started(answer, followed, client, jobs, log)),
    })
    res.end()
  }

  /** `Upload-Concat: final;…`: the parts joined into one file at once. */
  const concatenate = async (
    res: RequestContext['res'],
    log: RequestContext['log'],
    client: string,
    metadata: Record<string, string>,
    concat: string,
  ) => {
    const followed = await checkFollowUp(metadata, client, jobs)
    const parts = concat.slice('final;'.length).trim().split(/\s+/).filter(Boolean).map(partId)
    const answer = await tus.concatenate(client, parts, metadata, concat)
    res.writeHead(201, {
      location: BASE + answer.upload.id,
      ...(await started(answer, followed, client, jobs, log)),
    })
    res.end()
  }

  const head = async ({ req, res, tail }: RequestContext) => {
    const client = await clients.resolve(req)
    const { upload } = await tus.settle(await tus.get(client, tail))
    res.writeHead(200, {
      'cache-control': 'no-store',
      ...progressHeaders(upload),
      ...(upload.length === undefined
        ? { 'upload-defer-length': '1' }
        : { 'upload-length': String(upload.length) }),
      ...(Object.keys(upload.metadata).length > 0
        ? { 'upload-metadata': formatUploadMetadata(upload.metadata) }
        : {}),
      ...(upload.concat ? { 'upload-concat': upload.concat } : {}),
    })
    res.end()
  }

  const patch = async ({ req, res, tail, log }: RequestContext) => {
    const client = await clients.resolve(req)
    checkPatchType(req)
    const offsetHeader = header(req, 'upload-offset')
    if (offsetHeader === undefined) throw new TusError('E_TUS_REQUEST', 'Upload-Offset is missing')
    const lengthHeader = header(req, 'upload-length')
    res.once('close', policy.uploads.take(client))
    const upload = await tus.get(client, tail)
    const followed = upload.concat ? {} : await checkFollowUp(upload.metadata, client, jobs)
    const answer = await tus.patch(client, tail, {
      offset: count(offsetHeader, 'Upload-Offset'),
      length: lengthHeader === undefined ? undefined : count(lengthHeader, 'Upload-Length'),
      checksum: header(req, 'upload-checksum'),
      body: ownedPieces(req.iterator({ destroyOnReturn: false })),
    })
    res.writeHead(204, {
      ...progressHeaders(answer.upload),
      ...(await started(answer, followed, client, jobs, log)),
    })
    res.end()
  }

  const terminate = async ({ req, res, tail }: RequestContext) => {
    const client = await clients.resolve(req)
    await tus.terminate(client, tail)
    res.writeHead(204)
    res.end()
  }

  /** Every tus answer says its version; a request of another version is 412 (tus 1.0 §Tus-Resumable). */
  const tusHandler =
    (handler: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
      ctx.res.setHeader('tus-resumable', TUS_VERSION)
      if (ctx.req.method !== 'OPTIONS' && header(ctx.req, 'tus-resumable') !== TUS_VERSION) {
        ctx.res.setHeader('tus-version', TUS_VERSION)
        throw new TusError('E_TUS_VERSION', `this server speaks tus ${TUS_VERSION} (Tus-Resumable)`)
      }
      await handler(ctx)
    }
  // Clients behind proxies that pass only GET and POST say the method they mean.
  const overridden = async (ctx: RequestContext) => {
    const method = header(ctx.req, 'x-http-method-override')?.toUpperCase()
    if (method === 'PATCH') return patch(ctx)
    if (method === 'DELETE') return terminate(ctx)
    if (method === 'HEAD') return head(ctx)
    throw new HttpError(
      405,
      'E_METHOD',
      `POST is not allowed on an upload (allowed: HEAD, PATCH, DELETE)`,
    )
  }
  for (const path of ['/v1/tus', '/v1/tus/']) {
    router.on('OPTIONS', path, tusHandler(options))
    router.on('POST', path, tusHandler(create))
  }
  router.on('OPTIONS', '/v1/tus/*', tusHandler(options))
  router.on('HEAD', '/v1/tus/*', tusHandler(head))
  router.on('PATCH', '/v1/tus/*', tusHandler(patch))
  router.on('DELETE', '/v1/tus/*', tusHandler(terminate))
  router.on('POST', '/v1/tus/*', tusHandler(overridden))

  async function checkQuota(client: string, metadata: Record<string, string>, length: number) {
    const room = await policy.quotas.uploadLimit(client, metadata.name || metadata.filename || '')
    if (room !== undefined && length > room) {
      throw new HttpError(
        413,
        'E_QUOTA',
        `an upload of ${length} bytes would take client ${client} past its quota (quotaBytes)`,
      )
    }
  }
}

/** The job or run a completed upload starts, as headers; a failure to start is logged, not thrown. */
async function started(
  answer: TusAnswer,
  followed: FollowUp,
  client: string,
  jobs: GatewayOptions['jobs'],
  log: RequestContext['log'],
): Promise<Record<string, string>> {
  if (!answer.completed || !(followed.request || followed.runRequest)) return {}
  try {
    const { job, run } = await startFollowUp(followed, client, jobs)
    return { ...(job ? { 'piper-job': job.id } : {}), ...(run ? { 'piper-run': run.id } : {}) }
  } catch (error) {
    // The file is stored whatever happens here; its client sees no job or run header.
    log.warn(
      { err: error, name: answer.completed.name },
      'a completed tus upload could not start its job or run',
    )
    return {}
  }
}

function checkFollowUp(
  metadata: Record<string, string>,
  client: string,
  jobs: GatewayOptions['jobs'],
): Promise<FollowUp> {
  const name = metadata.name || metadata.filename || ''
  return followUp(metadata.then ?? null, metadata.pipeline ?? null, name, client, jobs)
}

function progressHeaders(upload: TusUploadRecord): Record<string, string> {
  return {
    'upload-offset': String(upload.received),
    ...(upload.fileId ? {} : { 'upload-expires': new Date(upload.expires).toUTCString() }),
  }
}

/** The upload id of a part named in `Upload-Concat: final;…` (a URL or a path). */
function partId(url: string): string {
  let path = url
  try {
    path = new URL(url, 'http://piper.invalid').pathname
  } catch {}
  if (!path.startsWith(BASE)) {
    throw new TusError(
      'E_TUS_REQUEST',
      `Upload-Concat names ${JSON.stringify(url)}, not an upload here`,
    )
  }
  return path.slice(BASE.length)
}

/** `Upload-Length`, or undefined for `Upload-Defer-Length: 1`: one of the two, never both. */
function creationLength(req: IncomingMessage): number | undefined {
  const deferred = header(req, 'upload-defer-length')
  const length = header(req, 'upload-length')
  if (deferred !== undefined && deferred !== '1') {
    throw new TusError('E_TUS_REQUEST', 'Upload-Defer-Length must be 1')
  }
  if ((deferred === undefined) === (length === undefined)) {
    throw new TusError('E_TUS_REQUEST', 'give one of Upload-Length and Upload-Defer-Length: 1')
  }
  return length === undefined ? undefined : count(length, 'Upload-Length')
}

function checkPatchType(req: IncomingMessage): void {
  const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase()
  if (type !== PATCH_TYPE) {
    throw new TusError('E_TUS_CONTENT_TYPE', `the body's Content-Type must be ${PATCH_TYPE}`)
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = header(req, 'content-length')
  return (length !== undefined && length !== '0') || header(req, 'transfer-encoding') !== undefined
}

/** A non-negative integer header (tus 1.0: Upload-Length and Upload-Offset). */
function count(value: string, name: string): number {
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new TusError('E_TUS_REQUEST', `${name} must be a non-negative integer`)
  }
  return Number(value)
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}
