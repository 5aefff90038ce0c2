import { after } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { NatsQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { isListening, NATS, requireServer } from '../helpers/services.ts'
import { runQueueContract } from './queue-contract.ts'

const logger = createLogger({ level: 'silent' })

// The contract's topics are unique per test; remove their streams so the server does not fill up.
after(async () => {
  if (!(await isListening(NATS.host, NATS.port))) return
  const nc = await connect({ servers: `${NATS.host}:${NATS.port}` })
  const jsm = await jetstreamManager(nc)
  for await (const name of jsm.streams.names()) {
    if (name.startsWith('contract_t')) await jsm.streams.delete(name)
  }
  await nc.close()
})

runQueueContract('nats', {
  create: async (t) => {
    if (!(await requireServer(t, NATS))) return undefined
    return {
      open: async () => {
        const queue = new NatsQueue(`nats://${NATS.host}:${NATS.port}`, logger)
        await queue.start()
        return queue
      },
    }
  },
})
