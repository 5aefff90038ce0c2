import { MAX_NAME_BYTES } from '../files/index.ts'
import { HttpError } from './errors.ts'

const MAX_PAGE = 1000

/** The `limit` query parameter: 100 when absent, 1 to 1000. */
export function pageLimit(raw: string | null): number {
  if (raw === null) return 100
  const limit = Number(raw)
  if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_PAGE) {
    throw new HttpError(400, 'E_BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_PAGE}`)
  }
  return limit
}

/**
 * The name or id a `cursor` stands for; 400 for a cursor this API did not return. It stands for
 * a name or id this API returned, so it is checked like one (a NUL byte reached PostgreSQL as
 * a 500 before).
 */
export function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8')
  if (name === '' || Buffer.from(name).toString('base64url') !== cursor || !printable(name)) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'cursor is not one this API returned')
  }
  return name
}

/** A listing's `prefix`: the start of a file name, so at most as long and as printable. */
export function listPrefix(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined
  if (!printable(raw)) {
    throw new HttpError(
      400,
      'E_BAD_REQUEST',
      `prefix must be at most ${MAX_NAME_BYTES} bytes of UTF-8 without control characters`,
    )
  }
  return raw
}

/** Well-formed UTF-16, at most a file name's length, with no C0/C1 control or DEL. */
function printable(text: string): boolean {
  return (
    text.isWellFormed() &&
    Buffer.byteLength(text) <= MAX_NAME_BYTES &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
    !/[\u0000-\u001f\u007f-\u009f]/.test(text)
  )
}

/** The cursor that continues a listing after `last`. */
export function encodeCursor(last: string): string {
  return Buffer.from(last).toString('base64url')
}

/** What `readPage` asks its listing for: the page after `after`, one more than the page holds. */
export interface PageQuery {
  after?: string
  limit: number
  state?: string
  newest?: boolean
}

/**
 * One page of a listing keyed by id or name, as `{[field]: items, next_cursor}`: reads one
 * more than `limit` to know whether another page follows. `state`, when the listing takes one,
 * must be one of `states`; `order=newest`, when it is `ordered` (jobs and runs), lists newest
 * first (`oldest`, the default, oldest first), and its cursor goes on in that order.
 */
export async function readPage<T>(
  url: URL,
  field: string,
  read: (query: PageQuery) => Promise<T[]>,
  show: (item: T) => unknown,
  keyOf: (item: T) => string,
  listing: { states?: readonly string[]; ordered?: boolean } = {},
): Promise<Record<string, unknown>> {
  const { states, ordered = false } = listing
  const limit = pageLimit(url.searchParams.get('limit'))
  const cursor = url.searchParams.get('cursor')
  const state = url.searchParams.get('state') ?? undefined
  if (state !== undefined && !states?.includes(state)) {
    const allowed = states ? `one of ${states.join(', ')}` : 'absent here'
    throw new HttpError(400, 'E_BAD_REQUEST', `state must be ${allowed}`)
  }
  const order = url.searchParams.get('order') ?? undefined
  if (order !== undefined && !(ordered && (order === 'oldest' || order === 'newest'))) {
    const allowed = ordered ? 'oldest or newest' : 'absent here'
    throw new HttpError(400, 'E_BAD_REQUEST', `order must be ${allowed}`)
  }
  const page = await read({
    state,
    after: cursor === null ? undefined : decodeCursor(cursor),
    limit: limit + 1,
    ...(order === 'newest' ? { newest: true } : {}),
  })
  const shown = page.slice(0, limit)
  return {
    [field]: shown.map(show),
    next_cursor: page.length > limit ? encodeCursor(keyOf(shown[shown.length - 1]!)) : null,
  }
}
