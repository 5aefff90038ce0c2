import { fileURLToPath } from 'node:url'
import type { FlagValues } from '../../config/index.ts'
import type { ApiPipeline, ApiRun, RunRequestBody } from '../api-types.ts'
import { usageError } from '../errors.ts'
import { clientFor } from '../gateway-client.ts'
import { readDefinitionFile } from './definition-file.ts'
import { limitFlag, listQuery } from './list-flags.ts'

/** Pipelines shipped with Piper (`src/pipelines/templates/NAME.yaml`). */
export const TEMPLATES = ['image-tagging']

export function json(body: unknown) {
  const bytes = Buffer.from(JSON.stringify(body))
  return {
    headers: { 'content-type': 'application/json', 'content-length': bytes.length },
    body: bytes,
  }
}

/**
 * `piper pipelines apply FILE` (or `--template NAME`): stores the pipeline a JSON or YAML file
 * describes (`{name, steps}`) as its next version; prints the stored pipeline.
 */
export async function pipelinesApplyCommand(
  given: string | undefined,
  template: string | undefined,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  if ((given === undefined) === (template === undefined)) {
    throw usageError('give a pipeline file or --template NAME (one of them)')
  }
  if (template !== undefined && !TEMPLATES.includes(template)) {
    throw usageError(`no template ${JSON.stringify(template)}; templates: ${TEMPLATES.join(', ')}`)
  }
  const file =
    given ?? fileURLToPath(new URL(`../../pipelines/templates/${template}.yaml`, import.meta.url))
  const body = await readDefinitionFile(file)
  const saved = await clientFor(flags).json<ApiPipeline>({
    method: 'POST',
    path: '/v1/pipelines',
    ...json(body),
  })
  out(`${JSON.stringify(saved)}\n`)
}

/** `piper pipelines`: one line per pipeline: name, version, its steps as `step(kind)`. */
export async function pipelinesListCommand(flags: FlagValues, out: (text: string) => void) {
  for await (const p of clientFor(flags).items<ApiPipeline>('/v1/pipelines', 'pipelines')) {
    const steps = Object.entries(p.steps).map(([name, s]) => `${name}(${s.kind})`)
    out(`${p.name}  v${p.version}  ${steps.join(' ')}\n`)
  }
}

/** `piper pipelines show NAME`: the stored definition as JSON. */
export async function pipelinesShowCommand(
  name: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const found = await clientFor(flags).json<ApiPipeline>({
    method: 'GET',
    path: `/v1/pipelines/${encodeURIComponent(name)}`,
  })
  out(`${JSON.stringify(found, null, 2)}\n`)
}

/** `piper pipelines rm NAME`: deletes every version (runs keep theirs). */
export async function pipelinesRmCommand(name: string, flags: FlagValues): Promise<void> {
  const res = await clientFor(flags).send({
    method: 'DELETE',
    path: `/v1/pipelines/${encodeURIComponent(name)}`,
  })
  res.resume()
}

/** `piper run PIPELINE INPUT…`: starts a run on files already stored; prints the run. */
export async function runCommand(
  pipeline: string,
  inputs: string[],
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const run = await clientFor(flags).json<ApiRun>({
    method: 'POST',
    path: '/v1/runs',
    ...json({ pipeline, inputs } satisfies RunRequestBody),
  })
  out(`${JSON.stringify(run)}\n`)
  if (process.stderr.isTTY) process.stderr.write(`follow it with: piper watch ${run.id}\n`)
}

/** `piper runs [--state S] [--newest] [--limit N]`: one line per run, oldest first (or newest). */
export async function runsCommand(
  options: { state?: string; limit?: string; newest?: boolean; json?: boolean },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const wanted = limitFlag(options.limit)
  const query = listQuery(options)
  for await (const run of clientFor(flags).items<ApiRun>('/v1/runs', 'runs', query, wanted)) {
    out(`${options.json ? JSON.stringify(run) : runLine(run)}\n`)
  }
}

/** `piper kinds`: the job kinds the gateway knows, with what they read and write. */
export async function kindsCommand(flags: FlagValues, out: (text: string) => void) {
  const { kinds } = await clientFor(flags).json<{
    kinds: { name: string; summary: string; inputs: string; output: string }[]
  }>({ method: 'GET', path: '/v1/kinds' })
  for (const k of kinds) {
    out(
      `${k.name.padEnd(14)} ${k.inputs === 'many' ? 'files' : 'file '} → ${k.output.padEnd(5)}  ${k.summary}\n`,
    )
  }
}

/** `run_… succeeded thumbs v2  detect 10/10, blur 10/10` or the error. */
export function runLine(run: ApiRun): string {
  const steps = Object.entries(run.steps).map(([name, s]) => `${name} ${s.done}/${s.items}`)
  const head = `${run.id}  ${run.state.padEnd(9)}  ${run.pipeline} v${run.version}  ${steps.join(', ')}`
  return run.error ? `${head}  ${run.error.code}: ${run.error.message}` : head
}
