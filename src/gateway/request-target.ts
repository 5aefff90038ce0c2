import { HttpError } from './errors.ts'

/** A request's target, parsed: the WHATWG URL (for the query) and the raw path. */
export interface RequestTarget {
  url: URL
  /**
   * The path as sent, not `url.pathname`: WHATWG URL parsing removes `..` segments, and a file
   * name with one must be refused, not silently turned into another name.
   */
  pathname: string
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i

/**
 * Parses the request target of RFC 9112 §3.2: origin-form (`/path?query`) and absolute-form
 * (`http://host/path`, which a server must accept, §3.2.2). Anything else, or a target that does
 * not parse (a port out of range, say), is a 400, never an exception outside a handler.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget {
  const raw = target ?? '/'
  let pathname: string
  if (raw.startsWith('/')) {
    pathname = raw
  } else {
    const authority = ABSOLUTE_FORM.exec(raw)
    if (!authority) {
      throw new HttpError(
        400,
        'E_BAD_REQUEST',
        'the request target must be a path (or an absolute http URL)',
      )
    }
    pathname = raw.slice(authority[0].length)
    if (!pathname.startsWith('/')) pathname = `/${pathname}`
  }
  let url: URL
  try {
    url = new URL(pathname, 'http://gateway')
  } catch (error) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'the request target is not a valid URL', {
      cause: error,
    })
  }
  const query = pathname.indexOf('?')
  return { url, pathname: query < 0 ? pathname : pathname.slice(0, query) }
}
