import type { IncomingMessage, ServerResponse } from 'node:http'
import { isLoopback } from '../net/index.ts'
import { HttpError } from './errors.ts'

export interface BrowserPolicy {
  /** The address the gateway listens on: on loopback, only loopback names are answered. */
  listenHost: string
  /** Host names the gateway answers to; empty: loopback names on loopback, any elsewhere. */
  publicHosts: readonly string[]
  /** Origins allowed to call the API from a browser (CORS); empty: none. */
  corsOrigins: readonly string[]
  /**
   * Host names of a separate origin for user content (as `usercontent.example.com` is to
   * `example.com`), where a download asking `?inline=1` displays even active types: a page
   * there shares no cookies or origin with the API. Empty: none.
   */
  inlineHosts?: readonly string[]
}

/** Methods that change nothing (RFC 9110 §9.2.1): a cross-site page may send these. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
// The tus headers (tus 1.0) let a page on an allowed origin upload with tus-js-client or Uppy.
const CORS_HEADERS =
  'authorization, content-type, idempotency-key, last-event-id, range, if-none-match, if-match, if-range, if-modified-since, tus-resumable, upload-length, upload-offset, upload-metadata, upload-checksum, upload-concat, upload-defer-length, x-http-method-override'
const CORS_METHODS = 'GET, HEAD, PUT, POST, PATCH, DELETE'
const CORS_EXPOSED =
  'etag, content-range, location, content-length, tus-resumable, tus-version, tus-extension, tus-max-size, tus-checksum-algorithm, upload-offset, upload-length, upload-metadata, upload-expires, upload-concat, upload-defer-length'

/**
 * The gateway's defence against web pages, applied to every request before routing.
 *
 * - DNS rebinding: a page on `evil.test` whose name is made to resolve to 127.0.0.1 reaches a
 *   loopback gateway with `Host: evil.test`; only the configured names are answered (421).
 * - Cross-site writes: a page may send a form or a `text/plain` POST anywhere (no preflight).
 *   A write whose `Origin` is another site, or whose `Sec-Fetch-Site` says cross-site (Fetch
 *   Metadata), is refused (403) unless that origin is configured for CORS.
 * - CORS: configured origins get `Access-Control-Allow-Origin` and their preflights answered.
 */
export class BrowserGuard {
  readonly #hosts: Set<string> | undefined
  readonly #origins: Set<string>
  readonly #inline: Set<string>

  constructor(policy: BrowserPolicy) {
    const hosts =
      policy.publicHosts.length > 0
        ? policy.publicHosts
        : isLoopback(policy.listenHost)
          ? [
              ...LOOPBACK_NAMES,
              policy.listenHost.includes(':') ? `[${policy.listenHost}]` : policy.listenHost,
            ]
          : undefined
    // Inline hosts are names this gateway answers to as well.
    this.#hosts =
      hosts && new Set([...hosts, ...(policy.inlineHosts ?? [])].map((h) => h.toLowerCase()))
    this.#origins = new Set(policy.corsOrigins)
    this.#inline = new Set((policy.inlineHosts ?? []).map((h) => h.toLowerCase()))
  }

  /**
   * Checks a request; answers a CORS preflight itself (returns true), throws an `HttpError` for
   * a refused one, and adds CORS headers to `res` for an allowed origin.
   */
  check(req: IncomingMessage, res: ServerResponse): boolean {
    this.#checkHost(req)
    const origin = header(req, 'origin')
    const allowed = origin !== undefined && this.#origins.has(origin)
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-expose-headers', CORS_EXPOSED)
    }
    res.setHeader('vary', 'Origin')
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS' && header(req, 'access-control-request-method') !== undefined) {
      if (!allowed) {
        throw new HttpError(
          403,
          'E_CROSS_SITE',
          `origin ${origin ?? '(none)'} is not allowed to call this API (PIPER_CORS_ORIGINS)`,
        )
      }
      res.writeHead(204, {
        'access-control-allow-methods': CORS_METHODS,
        'access-control-allow-headers': CORS_HEADERS,
        'access-control-max-age': '600',
      })
      res.end()
      return true
    }
    if (!SAFE_METHODS.has(method) && !allowed && this.#crossSite(req, origin)) {
      throw new HttpError(
        403,
        'E_CROSS_SITE',
        `a ${method} from another site (${origin ?? 'Sec-Fetch-Site: cross-site'}) is refused; allow its origin with PIPER_CORS_ORIGINS`,
      )
    }
    return false
  }

  /** Whether this download may display an active type inline (`?inline=1` on an inline host). */
  mayInline(req: IncomingMessage, url: URL): boolean {
    return (
      url.searchParams.get('inline') === '1' && this.#inline.has(hostOf(header(req, 'host') ?? ''))
    )
  }

  #checkHost(req: IncomingMessage): void {
    if (!this.#hosts) return
    const host = hostOf(header(req, 'host') ?? '')
    if (!this.#hosts.has(host)) {
      // RFC 9110 §15.5.20: 421, the request reached a server not configured for that name.
      throw new HttpError(
        421,
        'E_HOST',
        `this gateway does not answer to the host name ${JSON.stringify(host)} (allowed: ${[...this.#hosts].join(', ')}; set PIPER_PUBLIC_HOSTS)`,
      )
    }
  }

  #crossSite(req: IncomingMessage, origin: string | undefined): boolean {
    const site = header(req, 'sec-fetch-site')
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return true
    if (origin === undefined) return false
    // `Origin: null` comes from sandboxed frames, data: URLs and redirects: never same-origin.
    if (origin === 'null') return true
    let originHost: string
    try {
      originHost = new URL(origin).host.toLowerCase()
    } catch {
      return true
    }
    return originHost !== (header(req, 'host') ?? '').toLowerCase()
  }
}

/** The host name of a `Host` header value, without its port, lowercased. */
function hostOf(value: string): string {
  const host = value.trim().toLowerCase()
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.lastIndexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}
