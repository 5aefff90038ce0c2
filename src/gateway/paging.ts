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

/** The name or id a `cursor` stands for; 400 for a cursor this API did not return. */
export function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8')
  if (name === '' || Buffer.from(name).toString('base64url') !== cursor) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'cursor is not one this API returned')
  }
  return name
}

/** The cursor that continues a listing after `last`. */
export function encodeCursor(last: string): string {
  return Buffer.from(last).toString('base64url')
}
