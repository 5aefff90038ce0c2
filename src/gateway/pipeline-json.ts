import type { PipelineRecord, RunRecord } from '../meta/index.ts'
import type { RunStatus } from '../pipelines/index.ts'

/** A stored pipeline as the API shows it. */
export function pipelineJson(pipeline: PipelineRecord) {
  return {
    name: pipeline.name,
    version: pipeline.version,
    ...pipeline.definition,
    created: new Date(pipeline.created).toISOString(),
  }
}

/** A run as the API shows it; with its status (steps, outputs) when read alone. */
export function runJson(run: RunRecord, status?: RunStatus) {
  const steps = status
    ? Object.fromEntries(
        Object.entries(status.steps).map(([name, s]) => [
          name,
          {
            state: s.state,
            items: s.items,
            done: s.done,
            failed: s.failed,
            outputs: s.outputs,
            jobs: s.jobs,
            ...(s.error ? { error: s.error } : {}),
          },
        ]),
      )
    : run.steps
  return {
    id: run.id,
    pipeline: run.pipeline,
    version: run.pipelineVersion,
    state: run.state,
    inputs: run.inputs,
    steps,
    outputs: (run.result?.outputs as Record<string, string[]> | undefined) ?? status?.outputs ?? {},
    created: new Date(run.created).toISOString(),
    updated: new Date(run.updated).toISOString(),
    result: run.state === 'succeeded' ? run.result : null,
    error: run.error,
  }
}
