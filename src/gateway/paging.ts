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
