import { checkFileName } from '../files/index.ts'
import { JobError } from './errors.ts'
import type { JobKind, KindRegistry } from './kinds/index.ts'

/** The most files one job (a joining kind such as `tar`) may read. */
export const MAX_JOB_INPUTS = 10_000

/** What `POST /v1/jobs` asks for, checked, with the output name filled in. */
export interface JobRequest {
  type: string
  /** The first (or only) input. */
  input: string
  /** Every input of a kind that reads several (`inputs: 'many'`); otherwise absent. */
  inputs?: string[]
  /** A file name, a prefix ending in `/` (kinds writing files), or '' (kinds writing none). */
  output: string
  params: Record<string, unknown>
}

/** Checks a job request body; `E_JOB_REQUEST` (400) or `E_FILE_NAME` says what is wrong. */
export function parseJobRequest(body: unknown, kinds: KindRegistry): JobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object')
  }
  const { type, input, inputs, output, params, ...rest } = body as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw bad(`unknown field ${JSON.stringify(unknown[0])}`)
  if (typeof type !== 'string' || !kinds.has(type)) {
    throw bad(`"type" must be one of ${kinds.names.join(', ')}; got ${JSON.stringify(type)}`)
  }
  const kind = kinds.get(type)
  const names = parseInputs(kind, input, inputs)
  const checked = kinds.checkParams(type, params)
  if (output !== undefined && typeof output !== 'string') throw bad('"output" must be a file name')
  const outputName = checkOutput(kind, output ?? kind.defaultOutput(names[0]!, checked), '"output"')
  if (names.includes(outputName)) throw bad('"output" must differ from the inputs')
  return {
    type,
    input: names[0]!,
    ...(kind.inputs === 'many' ? { inputs: names } : {}),
    output: outputName,
    params: checked,
  }
}

function parseInputs(kind: JobKind, input: unknown, inputs: unknown): string[] {
  if (input !== undefined && inputs !== undefined) throw bad('give "input" or "inputs", not both')
  if (inputs === undefined) {
    if (typeof input !== 'string') throw bad('"input" must be the name of a file')
    return [checkFileName(input)]
  }
  if (kind.inputs !== 'many') throw bad(`${kind.name} reads one file: give "input"`)
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_JOB_INPUTS) {
    throw bad(`"inputs" must be a list of 1 to ${MAX_JOB_INPUTS} file names`)
  }
  return inputs.map((name, i) => {
    if (typeof name !== 'string') throw bad(`"inputs"[${i}] must be a file name`)
    return checkFileName(name)
  })
}

/**
 * The output as the kind writes it: a file name; a prefix that ends in `/` (its name without the
 * slash must be a valid name); or nothing. `where` names the field in errors.
 */
export function checkOutput(kind: JobKind, output: string, where: string): string {
  if (kind.output === 'none') {
    if (output !== '') throw bad(`${where}: ${kind.name} writes no file`)
    return ''
  }
  if (kind.output === 'files') {
    const prefix = output.endsWith('/') ? output.slice(0, -1) : output
    checkFileName(prefix)
    return `${prefix}/`
  }
  return checkFileName(output)
}

function bad(message: string): JobError {
  return new JobError('E_JOB_REQUEST', message)
}
