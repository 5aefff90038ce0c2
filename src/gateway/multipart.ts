import busboy from 'busboy'
import type { FileRecord } from '../meta/index.ts'
import { HttpError } from './errors.ts'
import type { Quotas } from './quotas.ts'
import type { RequestContext } from './router.ts'

const MAX_FILES = 100
const MAX_FIELDS = 100
const MAX_PARTS = 200

/**
 * Stores each file part of a `multipart/form-data` body (RFC 7578), streaming, one after the
 * other. A part is named by a preceding `name` field when there is one (it names the next file
 * only), else by its filename. Parts stored before a failure stay stored; the error says which
 * part failed.
 */
export async function uploadMultipart(
  { req }: RequestContext,
  client: string,
  quotas: Quotas,
): Promise<FileRecord[]> {
  const contentType = req.headers['content-type'] ?? ''
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    throw new HttpError(
      415,
      'E_MEDIA_TYPE',
      'POST /v1/files takes multipart/form-data (use PUT /v1/files/NAME for a raw body)',
    )
  }
  if (!/;\s*boundary=/i.test(contentType)) {
    // RFC 7578 §4.1 (via RFC 2046 §5.1.1): the parts are found by the boundary parameter.
    throw new HttpError(400, 'E_BAD_REQUEST', 'multipart/form-data needs a boundary parameter')
  }
  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: req.headers,
      limits: { fields: MAX_FIELDS, fieldSize: 64 * 1024, files: MAX_FILES, parts: MAX_PARTS },
    })
  } catch (error) {
    throw new HttpError(400, 'E_BAD_REQUEST', `bad multipart request: ${(error as Error).message}`)
  }
  const stored: FileRecord[] = []
  let nextName: string | undefined
  let failure: unknown
  let work: Promise<void> = Promise.resolve()

  // Past a limit busboy drops the rest silently: refuse the request instead.
  const tooMany = (what: string, max: number) => () => {
    failure ??= new HttpError(413, 'E_TOO_LARGE', `a form takes at most ${max} ${what}`)
  }
  parser.on('filesLimit', tooMany('files', MAX_FILES))
  parser.on('fieldsLimit', tooMany('fields', MAX_FIELDS))
  parser.on('partsLimit', tooMany('parts', MAX_PARTS))
  parser.on('field', (field, value) => {
    if (field === 'name') nextName = value
  })
  parser.on('file', (_field, stream, info) => {
    const name = nextName ?? info.filename
    nextName = undefined
    // The part may fail (a truncated body) before its turn in `work` starts reading it: the
    // reader then sees the stored error; an unhandled 'error' event would end the process.
    stream.on('error', (error) => {
      failure ??= new HttpError(400, 'E_BAD_REQUEST', `bad multipart body: ${error.message}`)
    })
    work = work.then(async () => {
      if (failure) {
        stream.resume()
        return
      }
      try {
        if (!name)
          throw new HttpError(
            400,
            'E_BAD_REQUEST',
            'a file part has neither a name field nor a filename',
          )
        stored.push(await quotas.put(client, name, stream, info.mimeType))
      } catch (error) {
        failure = error
        stream.resume()
      }
    })
  })
  const finished = new Promise<void>((resolve, reject) => {
    parser.once('close', resolve)
    parser.once('error', (error: Error) =>
      reject(new HttpError(400, 'E_BAD_REQUEST', `bad multipart body: ${error.message}`)),
    )
    req.once('error', reject)
  })
  req.pipe(parser)
  await finished
  await work
  if (failure) throw failure
  if (stored.length === 0) throw new HttpError(400, 'E_BAD_REQUEST', 'the form has no file part')
  return stored
}
