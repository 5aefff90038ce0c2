import { type KindRegistry, taskTopic } from '../jobs/index.ts'
import type { PipelineRecord, RunStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { parsePipeline } from './definition.ts'
import { PipelineError } from './errors.ts'

/** Named, versioned pipelines of a client: each save validates the whole and adds a version. */
export class PipelineService {
  readonly #store: RunStore
  readonly #kinds: KindRegistry
  readonly #queue: Queue

  constructor(options: { store: RunStore; kinds: KindRegistry; queue: Queue }) {
    this.#store = options.store
    this.#kinds = options.kinds
    this.#queue = options.queue
  }

  /**
   * Validates and stores `body` (`{name, steps}`) as the pipeline's next version, and creates
   * the shard queues its sharded steps will use, so workers find them before the first run.
   */
  async save(clientId: string, body: unknown): Promise<PipelineRecord> {
    const { name, definition } = parsePipeline(body, this.#kinds)
    for (const step of Object.values(definition.steps)) {
      if (step.shards < 2) continue
      for (let shard = 0; shard < step.shards; shard++) {
        await this.#queue.ensureTopic(taskTopic(step.kind, shard))
      }
    }
    return this.#store.savePipeline(clientId, name, definition)
  }

  async get(clientId: string, name: string, version?: number): Promise<PipelineRecord> {
    const found = await this.#store.pipeline(clientId, name, version)
    if (!found) {
      const which = version === undefined ? '' : ` version ${version}`
      throw new PipelineError('E_PIPELINE_NOT_FOUND', `no pipeline ${JSON.stringify(name)}${which}`)
    }
    return found
  }

  list(clientId: string, options: { after?: string; limit: number }): Promise<PipelineRecord[]> {
    return this.#store.listPipelines(clientId, options)
  }

  async delete(clientId: string, name: string): Promise<void> {
    if (!(await this.#store.deletePipeline(clientId, name))) {
      throw new PipelineError('E_PIPELINE_NOT_FOUND', `no pipeline ${JSON.stringify(name)}`)
    }
  }
}
