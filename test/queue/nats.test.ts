import { after } from 'node:test'
import { NatsQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { deleteNatsStreams } from '../helpers/nats.ts'
import { NATS, requireServer } from '../helpers/services.ts'
import { runQueueContract } from './queue-contract.ts'

const logger = createLogger({ level: 'silent' })

// The contract's topics are unique per test; remove their streams so the server does not fill up.
after(() => deleteNatsStreams(['contract_t']))

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
