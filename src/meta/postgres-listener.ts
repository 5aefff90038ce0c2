import type { Client, ClientConfig, Notification } from 'pg'
import type { Listener } from './event-signals.ts'

/** Waits before connecting again after a loss: doubling from the first to the last. */
const RETRY_FIRST_MS = 250
const RETRY_LAST_MS = 10_000

/**
 * The statement fragment that announces on `channel` (PostgreSQL `pg_notify`, delivered at
 * commit, and once per transaction however often it is called). Its payload is the schema the
 * writer's tables are in, so a listener of another deployment sharing the database (`?schema=`)
 * passes over it.
 */
export function notifyCall(channel: string): string {
  return `pg_notify('${channel}', current_schema())`
}

/**
 * `LISTEN channel` on a connection of its own (a pooled one is shared by turns and cannot hold
 * a `LISTEN`), made again after a loss with backoff. `onSignal` runs at each notification of
 * this schema, and after each (re)connection, since what was sent while it was down is lost.
 * It never throws: while it is down, readers fall back on their polls.
 */
export class PostgresListener implements Listener {
  readonly #config: ClientConfig
  readonly #channel: string
  readonly #onSignal: () => void
  #client: Client | undefined
  #retry: NodeJS.Timeout | undefined
  #delayMs = RETRY_FIRST_MS
  #closed = false

  constructor(config: ClientConfig, channel: string, onSignal: () => void) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel ${channel}`)
    this.#config = config
    this.#channel = channel
    this.#onSignal = onSignal
    void this.#connect()
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const { default: pg } = await import('pg')
    if (this.#closed) return
    const client = new pg.Client(this.#config)
    this.#client = client
    // A lost connection says so by `end` (after `error`, which must not crash the process).
    client.on('error', () => {})
    client.on('end', () => this.#lost(client))
    try {
      await client.connect()
      const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema')
      const schema = rows[0]?.schema
      client.on('notification', (message: Notification) => {
        if (message.channel === this.#channel && message.payload === schema) this.#onSignal()
      })
      await client.query(`LISTEN ${this.#channel}`)
      if (this.#client !== client) return // closed meanwhile
      this.#delayMs = RETRY_FIRST_MS
      this.#onSignal()
    } catch {
      this.#lost(client)
      await client.end().catch(() => {})
    }
  }

  #lost(client: Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    if (this.#closed) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      void this.#connect()
    }, this.#delayMs)
    this.#retry.unref()
    this.#delayMs = Math.min(this.#delayMs * 2, RETRY_LAST_MS)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }
}
