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
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
    if (match) {
      const hash = hashApiKey(match[1]!)
      const client = await this.#answers.get(`key:${hash}`, () => this.#meta.clientForKey(hash))
      if (client) return client
    }
    if (!(await this.#answers.get('any', () => this.#meta.hasApiKeys()))) {
      if (this.#loopback) return DEFAULT_CLIENT
      throw unauthorized(
        'this gateway is not on loopback and has no API keys; create one with `piper keys create CLIENT`',
      )
    }
    throw unauthorized(match ? 'unknown API key' : 'missing "Authorization: Bearer <key>" header')
  }

  readonly #answers = new KeyAnswers()
}

/** A found client (or "keys exist") is used this long without asking again: revocation's delay. */
const FRESH_MS = 5_000
/** While the metadata store does not answer, an answer this old still serves (`/metrics` stays up). */
const STALE_MS = 600_000
/** Answers kept at most (the oldest go first). */
const MAX_ANSWERS = 10_000

/**
 * The metadata store's answers about keys, kept briefly: a positive answer (a key's client,
 * "keys exist") is reused for `FRESH_MS`, which saves up to two queries per request; an answer
 * is reused for `STALE_MS` while the store does not answer, so an administrator can still read
 * `/metrics` during a database outage. A negative answer is asked again every time (a key
 * created a moment ago works at once).
 */
class KeyAnswers {
  readonly #kept = new Map<string, { value: unknown; at: number }>()

  async get<T>(name: string, ask: () => Promise<T>): Promise<T> {
    const kept = this.#kept.get(name)
    const now = Date.now()
    if (kept?.value && now - kept.at < FRESH_MS) return kept.value as T
    try {
      const value = await ask()
      // An unknown key is not kept: guesses must not push known keys out.
      if (value || !name.startsWith('key:')) {
        this.#kept.delete(name)
        this.#kept.set(name, { value, at: now })
        if (this.#kept.size > MAX_ANSWERS) this.#kept.delete(this.#kept.keys().next().value!)
      }
      return value
    } catch (error) {
      const unavailable = (error as { code?: unknown }).code === 'E_META_UNAVAILABLE'
      if (kept && unavailable && now - kept.at < STALE_MS) return kept.value as T
      throw error
    }
  }
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'E_UNAUTHORIZED', message)
}
