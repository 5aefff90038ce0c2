import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedQueue, QueueServer, RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { runQueueContract } from './queue-contract.ts'

const logger = createLogger({ level: 'silent' })

runQueueContract('remote (piper queue serve)', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'piper-queue-serve-'))
    const served = new EmbeddedQueue({ dir, logger })
    await served.start()
    const server = new QueueServer({
      queue: served,
      host: '127.0.0.1',
      port: 0,
      logger,
      token: 'a-test-token-of-16+',
    })
    await server.start()
    return {
      open: async () => {
        const queue = new RemoteQueue({
          url: `piper://127.0.0.1:${server.port}`,
          token: 'a-test-token-of-16+',
          logger,
        })
        await queue.start()
        return queue
      },
      dispose: async () => {
        await server.close()
        await served.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  },
})
