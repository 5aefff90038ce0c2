/** NATS stream of a topic: `.` is not allowed in stream names, and topics have no `_`. */
export function streamOf(topic: string): string {
  return topic.replaceAll('.', '_')
}

/** The one subject a topic's stream holds. */
export function subjectOf(topic: string): string {
  return `piper.${topic}`
}

/** The topic of a stream's subject, or undefined for streams Piper did not make. */
export function topicOfSubject(subject: string | undefined): string | undefined {
  return subject?.startsWith('piper.') ? subject.slice('piper.'.length) : undefined
}

/** What a JetStream ack subject says about a delivery. */
export interface DeliveryInfo {
  deliveries: number
  streamSequence: number
  timestamp: number
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<nanos>.<pending>`, or the
 * longer form with domain and account hash that newer servers send (ADR-15).
 */
export function parseAckSubject(reply: string): DeliveryInfo | undefined {
  const t = reply.split('.')
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1
  if (at < 0) return undefined
  return {
    deliveries: Number(t[at]),
    streamSequence: Number(t[at + 1]),
    timestamp: Math.floor(Number(t[at + 3]) / 1e6),
  }
}
