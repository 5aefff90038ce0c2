import { randomBytes } from 'node:crypto'
import { after, type TestContext } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { isListening, NATS, POSTGRES, requireServer } from '../helpers/services.ts'
import { runJobsSuite } from './jobs-suite.ts'

const namespaces: string[] = []

after(async () => {
  await dropTestSchemas()
  if (namespaces.length === 0) return
  const nc = await connect({ servers: `${NATS.host}:${NATS.port}` })
  const jsm = await jetstreamManager(nc)
  for await (const name of jsm.streams.names()) {
    if (namespaces.some((ns) => name.startsWith(`${ns}__`))) await jsm.streams.delete(name)
  }
  await nc.close()
})

/** A NATS queue URL with a namespace of its own, so runs never share streams. */
function natsUrl(): string {
  const ns = `e2e-${randomBytes(4).toString('hex')}`
  namespaces.push(ns)
  return `nats://${NATS.host}:${NATS.port}?namespace=${ns}`
}

async function up(t: TestContext | undefined, servers: (typeof NATS)[]): Promise<boolean> {
  for (const server of servers) {
    const ok = t ? await requireServer(t, server) : await isListening(server.host, server.port)
    if (!ok) return false
  }
  return true
}

runJobsSuite('sqlite, NATS', {
  args: async (t) => ((await up(t, [NATS])) ? ['--queue', natsUrl()] : undefined),
})

runJobsSuite('postgres, NATS', {
  args: async (t) =>
    (await up(t, [NATS, POSTGRES]))
      ? ['--queue', natsUrl(), '--meta', freshPostgresUrl()]
      : undefined,
})
