import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { MetaStore } from '../meta/index.ts'
import { isLoopback } from '../net/index.ts'
import { HttpError } from './errors.ts'
import type { RateLimit } from './rate-limit.ts'

/** A new API key: 256 random bits, with a prefix that makes leaked keys easy to grep for. */
export function generateApiKey(): string {
  return `pk_${randomBytes(32).toString('base64url')}`
}

/** What is stored of a key: its sha256. The key itself is shown once, at creation. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The client every request belongs to while no API keys exist (loopback only). */
export const DEFAULT_CLIENT = 'default'

/**
 * Resolves the client of a request, in one place: with API keys configured, the client of the
 * `Authorization: Bearer` key; without, the single client `default` — only while the gateway
 * listens on loopback (a public gateway without keys refuses every request).
 */
export class ClientResolver {
  readonly #meta: MetaStore
  readonly #loopback: boolean
  readonly #admins: ReadonlySet<string>
  readonly #limit: RateLimit | undefined

  /**
   * `admins`: the clients allowed on `/v1/admin/…` and `/metrics`; `limit`: each resolved
   * request spends a token of its client's bucket (429 when there is none).
   */
  constructor(
    meta: MetaStore,
    host: string,
    admins: readonly string[] = [DEFAULT_CLIENT],
    limit?: RateLimit,
  ) {
    this.#meta = meta
    this.#loopback = isLoopback(host)
    this.#admins = new Set(admins)
    this.#limit = limit
  }

  /** The client of a request that must come from an administrator (403 otherwise). */
  async resolveAdmin(req: IncomingMessage): Promise<string> {
    const client = await this.resolve(req)
    if (!this.#admins.has(client)) {
      throw new HttpError(
        403,
        'E_FORBIDDEN',
        `client ${client} is not an administrator (see the adminClients setting)`,
      )
    }
    return client
  }

  async resolve(req: IncomingMessage): Promise<string> {
    const client = await this.#identify(req)
    await this.#limit?.take(client)
    return client
  }

  async #identify(req: IncomingMessage): Promise<string> {
    if (!(await this.#meta.hasApiKeys())) {
      if (this.#loopback) return DEFAULT_CLIENT
      throw unauthorized(
        'this gateway is not on loopback and has no API keys; create one with `piper keys create CLIENT`',
      )
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
    if (!match) throw unauthorized('missing "Authorization: Bearer <key>" header')
    const client = await this.#meta.clientForKey(hashApiKey(match[1]!))
    if (!client) throw unauthorized('unknown API key')
    return client
  }
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'E_UNAUTHORIZED', message)
}
