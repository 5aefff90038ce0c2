import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { runQueueContract } from './queue-contract.ts'

const logger = createLogger({ level: 'silent' })

runQueueContract('embedded', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'piper-queue-'))
    return {
      open: async () => {
        const queue = new EmbeddedQueue({ dir, logger })
        await queue.start()
        return queue
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    }
  },
})
