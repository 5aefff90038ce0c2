import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { Consumer } from '../queue.ts'

/** Replies kept per session, so requests resent after a reconnect get their answer again. */
const REPLIES_KEPT = 4096

/**
 * A client's session: its consumers and the replies it may not have received. It outlives its
 * connection by a grace period, so a client that reconnects resumes with its leases intact.
 */
export class Session {
  readonly id = randomUUID()
  socket: WebSocket | undefined
  readonly consumers = new Map<string, Consumer>()
  /** Requests being worked on: a resent one is not run twice; its reply goes to the new socket. */
  readonly running = new Set<number>()
  readonly #replies = new Map<number, Uint8Array>()
  /** Messages published and not yet confirmed, against the credit granted. */
  publishing = 0
  graceTimer: NodeJS.Timeout | undefined

  /** The reply to request `id`, if it was answered (and is still remembered). */
  reply(id: number): Uint8Array | undefined {
    return this.#replies.get(id)
  }

  /** Remembers and sends a reply (or keeps it for the next connection). */
  answer(id: number | undefined, frame: Uint8Array): void {
    if (id !== undefined) {
      this.running.delete(id)
      this.#replies.set(id, frame)
      if (this.#replies.size > REPLIES_KEPT) {
        this.#replies.delete(this.#replies.keys().next().value!)
      }
    }
    this.send(frame)
  }

  send(frame: Uint8Array): void {
    if (this.socket?.readyState === 1) this.socket.send(frame)
  }

  async closeConsumers(): Promise<void> {
    const consumers = [...this.consumers.values()]
    this.consumers.clear()
    for (const consumer of consumers) await consumer.close().catch(() => {})
  }
}
