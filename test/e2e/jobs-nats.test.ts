import { after, type TestContext } from 'node:test'
import { deleteNatsStreams, natsNamespace } from '../helpers/nats.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { isListening, NATS, POSTGRES, requireServer } from '../helpers/services.ts'
import { runJobsSuite } from './jobs-suite.ts'

const namespaces: string[] = []

after(async () => {
  await dropTestSchemas()
  await deleteNatsStreams(namespaces.map((ns) => `${ns}__`))
})

/** A NATS queue URL with a namespace of its own, so runs never share streams. */
function natsUrl(): string {
  const ns = natsNamespace('e2e')
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
