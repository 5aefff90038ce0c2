import type { IncomingHttpHeaders } from 'node:http'

/**
 * Evaluates `If-None-Match` and, without it, `If-Modified-Since` for a GET or HEAD
 * (RFC 9110 §13.1.2, §13.1.3, §13.2.2). True when the answer is 304 Not Modified.
 */
export function notModified(headers: IncomingHttpHeaders, etag: string, modified: Date): boolean {
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true
    // Weak comparison: W/"x" matches "x".
    return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
  }
  const since = headers['if-modified-since']
  if (since === undefined) return false
  const date = Date.parse(since)
  return !Number.isNaN(date) && Math.floor(modified.getTime() / 1000) * 1000 <= date
}

/** Whether an `If-Range` lets a Range apply: a strong match of the ETag or the exact date. */
export function rangeApplies(headers: IncomingHttpHeaders, etag: string, modified: Date): boolean {
  const raw = headers['if-range']
  if (raw === undefined) return true
  const ifRange = String(raw).trim()
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === etag
  return Date.parse(ifRange) === Math.floor(modified.getTime() / 1000) * 1000
}
