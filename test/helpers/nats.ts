import { randomBytes } from 'node:crypto'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { isListening, NATS } from './services.ts'

/**
 * Deletes the streams whose names start with one of `prefixes` (a test's namespaces or topics),
 * so the shared NATS server does not fill up run after run. Nothing to do when NATS is absent.
 */
export async function deleteNatsStreams(prefixes: readonly string[]): Promise<void> {
  if (prefixes.length === 0 || !(await isListening(NATS.host, NATS.port))) return
  const nc = await connect({ servers: `${NATS.host}:${NATS.port}` })
  try {
    const jsm = await jetstreamManager(nc)
    for await (const name of jsm.streams.names()) {
      if (prefixes.some((prefix) => name.startsWith(prefix))) await jsm.streams.delete(name)
    }
  } finally {
    await nc.close()
  }
}

/** A namespace of its own for a test's NATS queue (its streams are `<namespace>__…`). */
export function natsNamespace(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`
}
