import type { FileService } from '../files/index.ts'
import { checkFileName } from '../files/index.ts'
import {
  isTerminal,
  type JobEventFeed,
  type KindRegistry,
  MAX_JOB_INPUTS,
  PeriodicSweep,
  publishOrLeave,
} from '../jobs/index.ts'
import type { MetaStore, RecordPage, RunRecord, RunStore, StepSummary } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { schemaCheck } from '../schemas/index.ts'
import type { Logger } from '../telemetry/index.ts'
import type { PipelineDefinition } from './definition.ts'
import { PipelineError } from './errors.ts'
import type { PipelineService } from './pipeline-service.ts'
import type { RunEngine } from './run-engine.ts'
import { isRunId, newRunId } from './run-id.ts'
import { jobsByStep, outputKinds } from './run-jobs.ts'
import { type RunStatus, runStatus } from './run-status.ts'
import { queueAdvance, RUN_TOPIC } from './run-tasks.ts'

/** What `POST /v1/runs` asks for, checked. */
export interface RunRequest {
  pipeline: string
  version?: number
  inputs: string[]
}

export interface RunServiceOptions {
  meta: MetaStore & RunStore
  queue: Queue
  files: FileService
  pipelines: PipelineService
  engine: RunEngine
  kinds: KindRegistry
  feed: JobEventFeed
  logger: Logger
  /** How often unpublished and idle runs are swept and advanced. */
  sweepIntervalMs?: number
  /** Whether this process leads the periodic sweep now (default: always; see `PeriodicSweep`). */
  leadSweep?: () => Promise<boolean>
}

/**
 * Starting, reading and cancelling runs. A run is written first and then its first advance is
 * published (the `published` flag is the outbox, swept at start and every interval, as jobs'
 * are). Runs that have not changed for an interval are advanced again by the sweep, so a run
 * whose advance was lost in a crash (after a job ended, before the advance was queued) moves on.
 */
export class RunService {
  readonly name = 'runs'
  readonly #o: RunServiceOptions
  readonly #log: Logger
  readonly #sweeper: PeriodicSweep

  constructor(options: RunServiceOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'runs' })
    const interval = options.sweepIntervalMs ?? 30_000
    this.#sweeper = new PeriodicSweep(
      'run sweep',
      (b) => this.#sweep(b),
      interval,
      this.#log,
      options.leadSweep,
    )
  }

  async start(): Promise<void> {
    await this.#o.queue.ensureTopic(RUN_TOPIC)
    await this.#sweeper.start()
  }

  close(): Promise<void> {
    return this.#sweeper.close()
  }

  /** Creates the run (or returns the one made with the same idempotency key) and queues it. */
  async create(
    clientId: string,
    request: RunRequest,
    idempotencyKey?: string,
  ): Promise<{ run: RunRecord; created: boolean }> {
    const pipeline = await this.#o.pipelines.get(clientId, request.pipeline, request.version)
    for (const name of request.inputs) await this.#o.files.stat(clientId, name)
    const definition = pipeline.definition as unknown as PipelineDefinition
    const steps: Record<string, StepSummary> = {}
    for (const name of Object.keys(definition.steps)) {
      steps[name] = { state: 'waiting', items: 0, done: 0, failed: 0 }
    }
    const result = await this.#o.meta.createRun({
      id: newRunId(),
      clientId,
      pipeline: pipeline.name,
      pipelineVersion: pipeline.version,
      definition: pipeline.definition,
      inputs: request.inputs,
      steps,
      idempotencyKey,
    })
    this.#o.feed.notify()
    if (!result.created) return result
    const id = result.run.id
    await publishOrLeave(
      async () => {
        await this.#publish(id, 'created')
        await this.#o.meta.markRunPublished(id)
      },
      this.#sweeper,
      this.#log,
      { run: id },
    )
    this.#log.info({ run: id, pipeline: pipeline.name, client: clientId }, 'run created')
    return result
  }

  /** The run and its status derived from its jobs. */
  async get(clientId: string, id: string): Promise<{ run: RunRecord; status: RunStatus }> {
    const run = isRunId(id) ? await this.#o.meta.getRun(clientId, id) : undefined
    if (!run) throw new PipelineError('E_RUN_NOT_FOUND', `no run ${JSON.stringify(id)}`)
    const jobs = await this.#o.meta.runJobs(run.id)
    return {
      run,
      status: runStatus(run, jobsByStep(jobs, outputKinds(run, this.#o.kinds)), this.#o.kinds),
    }
  }

  list(clientId: string, page: RecordPage) {
    return this.#o.meta.listRuns(clientId, page)
  }

  /** Cancels a queued or running run and its unfinished jobs; `E_RUN_FINISHED` once it ended. */
  async cancel(clientId: string, id: string): Promise<RunRecord> {
    for (;;) {
      const { run } = await this.get(clientId, id)
      if (isTerminal(run.state))
        throw new PipelineError('E_RUN_FINISHED', `run ${id} already ${run.state}`)
      const ended = await this.#o.meta.updateRun(run.id, run.version, { state: 'cancelled' })
      if (!ended) continue
      this.#o.feed.notify()
      await this.#o.engine.cancelJobs(ended)
      this.#log.info({ run: id }, 'run cancelled')
      return ended
    }
  }

  #publish(runId: string, cause: string): Promise<void> {
    return queueAdvance(this.#o.queue, runId, cause)
  }

  /** Publishes runs a crash left unpublished, and advances runs idle since `before`. */
  async #sweep(before: number): Promise<void> {
    for (;;) {
      const runs = await this.#o.meta.unpublishedRuns(before, 100)
      for (const run of runs) {
        await this.#publish(run.id, 'created')
        await this.#o.meta.markRunPublished(run.id)
        this.#log.warn({ run: run.id }, 'published a run a crash had left unpublished')
      }
      if (runs.length < 100) break
    }
    const idle = await this.#o.meta.idleRuns(before, 1000)
    for (const run of idle) await this.#publish(run.id, `sweep-${before}`)
  }
}

/** Checks a run request body: `{pipeline, version?, input | inputs}`; `E_RUN_REQUEST` says why. */
export function parseRunRequest(body: unknown): RunRequest {
  const problem = checkRunBody(body, 'body')
  if (problem) throw bad(problem)
  const { pipeline, version, input, inputs } = body as {
    pipeline: string
    version?: number
    input?: string
    inputs?: string[]
  }
  if ((input === undefined) === (inputs === undefined))
    throw bad('give one of "input" and "inputs"')
  const names = inputs ?? [input as string]
  for (const name of names) checkFileName(name)
  return {
    pipeline,
    ...(version === undefined ? {} : { version }),
    inputs: names,
  }
}

/**
 * `POST /v1/runs`: checked against this first, and described by it in `/v1/openapi.json`; that
 * exactly one of `input` and `inputs` is given, and the names, are checked after.
 */
export const RUN_REQUEST = {
  type: 'object',
  properties: {
    pipeline: { type: 'string', minLength: 1 },
    version: { type: 'integer', minimum: 1 },
    input: { type: 'string' },
    inputs: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: MAX_JOB_INPUTS },
  },
  required: ['pipeline'],
  additionalProperties: false,
} as const

const checkRunBody = schemaCheck(RUN_REQUEST)

function bad(message: string): PipelineError {
  return new PipelineError('E_RUN_REQUEST', message)
}
