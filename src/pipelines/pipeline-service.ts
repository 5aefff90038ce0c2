import type { KindRegistry } from '../jobs/index.ts'
import type { PipelineRecord, RunStore } from '../meta/index.ts'
import { parsePipeline } from './definition.ts'
import { PipelineError } from './errors.ts'

/** Named, versioned pipelines of a client: each save validates the whole and adds a version. */
export class PipelineService {
  readonly #store: RunStore
  readonly #kinds: KindRegistry

  constructor(options: { store: RunStore; kinds: KindRegistry }) {
    this.#store = options.store
    this.#kinds = options.kinds
  }

  /** Validates and stores `body` (`{name, steps}`) as the pipeline's next version. */
  save(clientId: string, body: unknown): Promise<PipelineRecord> {
    const { name, definition } = parsePipeline(body, this.#kinds)
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
