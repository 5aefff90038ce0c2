import { lookup as lookupCallback } from 'node:dns'
import { lookup } from 'node:dns/promises'
import { isIP, type LookupFunction } from 'node:net'
import { isPublicAddress } from '../net/index.ts'
import { WebhookError } from './errors.ts'

/**
 * Checks a webhook URL: http or https, no credentials, and — unless private targets are allowed
 * (`webhookAllowPrivate`) — a host whose every address is on the public internet, so a client
 * cannot make Piper call its own network (SSRF: the metadata service at 169.254.169.254, the
 * database, the admin API on loopback). Deliveries check again as they connect (`publicLookup`):
 * a name that resolves elsewhere later (DNS rebinding) is refused then.
 */
export async function checkWebhookTarget(raw: unknown, allowPrivate: boolean): Promise<URL> {
  if (typeof raw !== 'string' || raw.length > 2048) {
    throw new WebhookError(
      'E_WEBHOOK_REQUEST',
      'url must be an http(s) URL of at most 2048 characters',
    )
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new WebhookError('E_WEBHOOK_REQUEST', `url ${JSON.stringify(raw)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookError('E_WEBHOOK_REQUEST', 'url must be http: or https:')
  }
  if (url.username || url.password) {
    throw new WebhookError('E_WEBHOOK_REQUEST', 'url must not carry credentials')
  }
  if (allowPrivate) return url
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address)
  } catch (error) {
    throw new WebhookError('E_WEBHOOK_TARGET', `the host ${host} does not resolve`, {
      cause: error,
    })
  }
  const refused = addresses.find((address) => !isPublicAddress(address))
  if (refused !== undefined) {
    throw new WebhookError(
      'E_WEBHOOK_TARGET',
      `the host ${host} is at ${refused}, not a public address; private and loopback targets need webhookAllowPrivate`,
    )
  }
  return url
}

/** A `lookup` for outgoing requests that fails for any address not on the public internet. */
export const publicLookup: LookupFunction = (hostname, options, callback) => {
  lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0)
    const list = addresses as unknown as { address: string; family: number }[]
    const refused = list.find((a) => !isPublicAddress(a.address))
    if (refused || list.length === 0) {
      const denied = Object.assign(
        new Error(`${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`),
        { code: 'E_WEBHOOK_TARGET' },
      )
      return callback(denied, '', 0)
    }
    if ((options as { all?: boolean }).all) return callback(null, list as never)
    callback(null, list[0]!.address, list[0]!.family)
  })
}
