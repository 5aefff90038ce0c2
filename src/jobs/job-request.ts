import { checkFileName } from '../files/index.ts'
import { JobError } from './errors.ts'

/** The job types Piper runs. */
export const JOB_TYPES = ['compress', 'decompress'] as const
export type JobType = (typeof JOB_TYPES)[number]

/** What `POST /v1/jobs` asks for, checked, with the output name filled in. */
export interface JobRequest {
  type: JobType
  input: string
  output: string
  params: JobParams
}

export interface JobParams {
  /** Decompress only: fail with `E_OUTPUT_LIMIT` past this many bytes of output. */
  maxOutputBytes?: number
}

const PARAMS_OF_TYPE: Record<JobType, readonly (keyof JobParams)[]> = {
  compress: [],
  decompress: ['maxOutputBytes'],
}

/** Checks a job request body; `E_JOB_REQUEST` (400) or `E_FILE_NAME` says what is wrong. */
export function parseJobRequest(body: unknown): JobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object')
  }
  const { type, input, output, params, ...rest } = body as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw bad(`unknown field ${JSON.stringify(unknown[0])}`)
  if (typeof type !== 'string' || !(JOB_TYPES as readonly string[]).includes(type)) {
    throw bad(`"type" must be one of ${JOB_TYPES.join(', ')}; got ${JSON.stringify(type)}`)
  }
  if (typeof input !== 'string') throw bad('"input" must be the name of a file')
  checkFileName(input)
  if (output !== undefined && typeof output !== 'string') {
    throw bad('"output" must be a file name')
  }
  const jobType = type as JobType
  const outputName = output ?? defaultOutput(jobType, input)
  checkFileName(outputName)
  if (outputName === input) throw bad('"output" must differ from "input"')
  return { type: jobType, input, output: outputName, params: parseParams(jobType, params) }
}

/** compress: `NAME.gz`; decompress: NAME without `.gz`, or `NAME.out`. */
export function defaultOutput(type: JobType, input: string): string {
  if (type === 'compress') return `${input}.gz`
  return input.endsWith('.gz') && input.length > 3 ? input.slice(0, -3) : `${input}.out`
}

function parseParams(type: JobType, params: unknown): JobParams {
  if (params === undefined) return {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw bad('"params" must be an object')
  }
  const allowed = PARAMS_OF_TYPE[type]
  const parsed: JobParams = {}
  for (const [key, value] of Object.entries(params)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw bad(`${type} takes no parameter ${JSON.stringify(key)}`)
    }
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw bad(`params.${key} must be a positive integer`)
    }
    parsed[key as keyof JobParams] = value as number
  }
  return parsed
}

function bad(message: string): JobError {
  return new JobError('E_JOB_REQUEST', message)
}
