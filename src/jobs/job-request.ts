import { checkFileName } from '../files/index.ts'
import { schemaCheck } from '../schemas/index.ts'
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

/**
 * `POST /v1/jobs` whatever the kind: checked with this first; the API's description narrows it
 * per kind (`params` as the kind's own schema).
 */
export const JOB_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: {
    type: { type: 'string', description: 'A job kind (GET /v1/kinds)' },
    input: { type: 'string', 'x-must': 'the name of a file' },
    inputs: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      maxItems: MAX_JOB_INPUTS,
      'x-must': `a list of 1 to ${MAX_JOB_INPUTS} file names`,
    },
    output: { type: 'string', 'x-must': 'a file name, or a prefix ending in "/"' },
    params: { type: 'object', description: "The kind's params" },
  },
  required: ['type'],
  additionalProperties: false,
} as const

const checkJobBody = schemaCheck(JOB_REQUEST)

/** Checks a job request body; `E_JOB_REQUEST` (400) or `E_FILE_NAME` says what is wrong. */
export function parseJobRequest(body: unknown, kinds: KindRegistry): JobRequest {
  const problem = checkJobBody(body, '')
  if (problem) throw bad(problem)
  const { type, input, inputs, output, params } = body as {
    type: string
    input?: string
    inputs?: string[]
    output?: string
    params?: unknown
  }
  if (!kinds.has(type)) {
    throw bad(`type must be one of ${kinds.names.join(', ')}; got ${JSON.stringify(type)}`)
  }
  const kind = kinds.get(type)
  const names = parseInputs(kind, input, inputs)
  const checked = kinds.checkParams(type, params)
  const outputName = checkOutput(kind, output ?? kind.defaultOutput(names[0]!, checked), 'output')
  if (names.includes(outputName)) throw bad('output must differ from the inputs')
  return {
    type,
    input: names[0]!,
    ...(kind.inputs === 'many' ? { inputs: names } : {}),
    output: outputName,
    params: checked,
  }
}

function parseInputs(kind: JobKind, input?: string, inputs?: string[]): string[] {
  if (input !== undefined && inputs !== undefined) throw bad('give "input" or "inputs", not both')
  if (inputs === undefined) {
    if (input === undefined) throw bad('input is required')
    return [checkFileName(input)]
  }
  if (kind.inputs !== 'many') throw bad(`${kind.name} reads one file: give "input"`)
  return inputs.map((name) => checkFileName(name))
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
