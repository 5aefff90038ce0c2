import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { Consumer } from '../queue.ts'

/**
 * Replies kept per session, so requests resent after a reconnect get their answer again. A
 * client says which replies it has (`received`) and those are forgotten at once; the caps bound
 * what a client that never says so costs (a fetch reply holds its messages).
 */
const REPLIES_KEPT = 4096
const REPLY_BYTES_KEPT = 64 << 20

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
  #replyBytes = 0
  /** Every reply to a request below this id has reached the client. */
  #received = 0
  /** Messages published and not yet confirmed, against the credit granted. */
  publishing = 0
  graceTimer: NodeJS.Timeout | undefined

  /** The reply to request `id`, if it was answered (and is still remembered). */
  reply(id: number): Uint8Array | undefined {
    return this.#replies.get(id)
  }

  /**
   * Forgets the replies to requests below `id`: the client has them all. Without this, every
   * reply lived on for thousands of requests, long enough to reach the old generation, and a
   * served queue at a steady 1000 msg/s ran a full collection every two seconds.
   */
  received(id: number): void {
    if (id <= this.#received) return
    this.#received = id
    // Only the replies still on their way remain: a few, in answer (not id) order.
    for (const [replied, frame] of this.#replies) {
      if (replied < id) this.#forget(replied, frame)
    }
  }

  /** Remembers and sends a reply (or keeps it for the next connection). */
  answer(id: number | undefined, frame: Uint8Array): void {
    if (id !== undefined) {
      this.running.delete(id)
      if (id >= this.#received) {
        this.#replies.set(id, frame)
        this.#replyBytes += frame.length
        while (this.#replies.size > REPLIES_KEPT || this.#replyBytes > REPLY_BYTES_KEPT) {
          const [oldest, old] = this.#replies.entries().next().value!
          this.#forget(oldest, old)
        }
      }
    }
    this.send(frame)
  }

  send(frame: Uint8Array): void {
    if (this.socket?.readyState === 1) this.socket.send(frame)
  }

  #forget(id: number, frame: Uint8Array): void {
    this.#replies.delete(id)
    this.#replyBytes -= frame.length
  }

  async closeConsumers(): Promise<void> {
    const consumers = [...this.consumers.values()]
    this.consumers.clear()
    for (const consumer of consumers) await consumer.close().catch(() => {})
  }
}
