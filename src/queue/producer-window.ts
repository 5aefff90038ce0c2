import { QueueError } from './errors.ts'

/** Headers that carry a publish's producer and sequence number (kept, so a restart can rebuild). */
export const PRODUCER_HEADER = 'piper-producer'
export const SEQUENCE_HEADER = 'piper-seq'

/**
 * Sequence numbers a producer may resend: at least the publish credit a queue server grants
 * (8192 by default), since a client never has more than that unconfirmed.
 */
export const PRODUCER_WINDOW = 16_384
/** Producers remembered per topic; the longest idle is forgotten first beyond this. */
const MAX_PRODUCERS = 10_000

interface Producer {
  /** The highest sequence number seen. */
  last: number
  /** Offsets (or pending appends) of the last `PRODUCER_WINDOW` sequence numbers, by seq % size. */
  ring: (Promise<number> | number | undefined)[]
  seen: number
}

/**
 * Exactly-once publish across reconnects, after Kafka's idempotent producer (KIP-98): a client
 * names itself (a random producer id) and numbers its publishes per topic; a publish whose
 * number the topic has seen from that producer returns the first one's offset instead of
 * appending again. A client resending what was in flight when its server restarted thus
 * duplicates nothing. Unlike idempotency keys this costs a slot per message in flight, not a
 * map entry per message for two minutes.
 */
export class ProducerWindow {
  // A Map iterates in insertion order; a producer is moved to the end when seen.
  readonly #producers = new Map<string, Producer>()

  /** The offset of `(id, sequence)` if it was published, else undefined (publish it). */
  lookup(id: string, sequence: number, now: number): Promise<number> | number | undefined {
    const producer = this.#producers.get(id)
    if (!producer) return undefined
    producer.seen = now
    if (sequence > producer.last) return undefined
    if (producer.last - sequence >= PRODUCER_WINDOW) {
      throw new QueueError(
        'E_QUEUE_ARGUMENT',
        `producer ${id}: sequence ${sequence} is older than the ${PRODUCER_WINDOW} this topic remembers (last ${producer.last})`,
      )
    }
    return producer.ring[sequence % PRODUCER_WINDOW]
  }

  /** Records the append of `(id, sequence)`; a failed one is forgotten so a retry can succeed. */
  remember(id: string, sequence: number, offset: Promise<number> | number, now: number): void {
    let producer = this.#producers.get(id)
    if (producer) this.#producers.delete(id)
    else {
      producer = { last: -1, ring: [], seen: now }
      if (this.#producers.size >= MAX_PRODUCERS) {
        this.#producers.delete(this.#producers.keys().next().value!)
      }
    }
    this.#producers.set(id, producer)
    producer.seen = now
    const slot = sequence % PRODUCER_WINDOW
    // Slots between the last sequence and this one held older numbers: they are not these.
    for (let s = producer.last + 1; s < sequence && sequence - s < PRODUCER_WINDOW; s++) {
      producer.ring[s % PRODUCER_WINDOW] = undefined
    }
    producer.last = Math.max(producer.last, sequence)
    producer.ring[slot] = offset
    if (typeof offset === 'number') return
    const ring = producer.ring
    offset.then(
      (value) => {
        if (ring[slot] === offset) ring[slot] = value
      },
      () => {
        if (ring[slot] === offset) ring[slot] = undefined
      },
    )
  }
}

/** A producer id and sequence as a publish carries them, checked. */
export function checkProducer(producer: { id: unknown; sequence: unknown }): void {
  const { id, sequence } = producer
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    throw new QueueError('E_QUEUE_ARGUMENT', 'a producer id is 8 to 64 characters of [A-Za-z0-9_-]')
  }
  if (!Number.isSafeInteger(sequence) || (sequence as number) < 0) {
    throw new QueueError(
      'E_QUEUE_ARGUMENT',
      'a producer sequence number is a whole number, 0 or more',
    )
  }
}
