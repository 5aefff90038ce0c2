import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import { isPublicAddress } from '../net/index.ts'
import { publicLookup } from './webhook-target.ts'

/** What one delivery attempt got: the status, or why there was none. */
export interface PostOutcome {
  status: number | undefined
  error: string | undefined
  durationMs: number
}

/**
 * POSTs a JSON body to a webhook endpoint; never throws. Redirects are not followed (a 3xx is a
 * failure: following one could lead to a private address). Without `allowPrivate` the address
 * connected to must be public, checked as the connection is made (DNS rebinding).
 */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number; now?: () => number },
): Promise<PostOutcome> {
  const now = options.now ?? Date.now
  const started = now()
  const target = new URL(url)
  const done = (status: number | undefined, error: string | undefined): PostOutcome => ({
    status,
    error,
    durationMs: Math.max(0, now() - started),
  })
  const host = target.hostname.replace(/^\[|\]$/g, '')
  if (!options.allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return Promise.resolve(done(undefined, `${host} is not a public address`))
  }
  return new Promise((resolve) => {
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Piper-Webhooks/1',
        },
        lookup: options.allowPrivate ? undefined : publicLookup,
        timeout: options.timeoutMs,
      },
      (res) => {
        // The answer's body is not wanted; read it so the socket can be reused or closed.
        res.resume()
        res.on('end', () => resolve(done(res.statusCode, undefined)))
        res.on('error', (error) => resolve(done(res.statusCode, error.message)))
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)))
    req.on('error', (error) => resolve(done(undefined, error.message)))
    req.end(body)
  })
}
