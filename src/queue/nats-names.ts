/**
 * NATS stream of a topic: `.` is not allowed in stream names, and topics have no `_`, so `__`
 * separates a namespace (several Piper installations on one NATS) from the topic.
 */
export function streamOf(topic: string, namespace = ''): string {
  const stream = topic.replaceAll('.', '_')
  return namespace ? `${namespace}__${stream}` : stream
}

/** The one subject a topic's stream holds. */
export function subjectOf(topic: string, namespace = ''): string {
  return `${subjectRoot(namespace)}${topic}`
}

/** The topic of a stream's subject, or undefined for streams of other namespaces or not Piper's. */
export function topicOfSubject(subject: string | undefined, namespace = ''): string | undefined {
  const root = subjectRoot(namespace)
  return subject?.startsWith(root) ? subject.slice(root.length) : undefined
}

function subjectRoot(namespace: string): string {
  return namespace ? `piperns.${namespace}.` : 'piper.'
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
