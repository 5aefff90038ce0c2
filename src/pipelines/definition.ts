import { JobError, type KindRegistry } from '../jobs/index.ts'
import { schemaCheck } from '../schemas/index.ts'
import { PipelineError } from './errors.ts'

/** What a step's failure does downstream (see docs/pipelines.md). */
export const ON_FAILURE = ['fail', 'continue', 'ignore'] as const
export type OnFailure = (typeof ON_FAILURE)[number]

/** The run's own input files, as a `use` entry. */
export const RUN_INPUT = ':input'

export const MAX_STEPS = 100
export const MAX_PARENTS = 32
export const MAX_SHARDS = 64

/** One step, with every default filled in. */
export interface StepDefinition {
  kind: string
  params: Record<string, unknown>
  /** Its parents: `:input` or other steps; the step runs on all of their outputs, in this order. */
  use: string[]
  /** Work queues its items are spread over (1: the kind's own queue). */
  shards: number
  on_failure: OnFailure
  /** A template for each output's name (`{dir}{stem}.thumb.jpg`); the kind's default otherwise. */
  output?: string
}

/** A validated pipeline: its steps by name. */
export interface PipelineDefinition {
  description?: string
  steps: Record<string, StepDefinition>
}

const NAME_RULE = '1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit'
const TEMPLATE_VARS = new Set(['input', 'dir', 'name', 'stem', 'ext', 'run', 'step', 'item'])

/** One step of `POST /v1/pipelines`, as sent (the API's description and the parser's check). */
export const STEP_REQUEST = {
  type: 'object',
  properties: {
    kind: { type: 'string', description: 'A job kind (GET /v1/kinds)' },
    params: { type: 'object', description: "The kind's params" },
    use: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      maxItems: MAX_PARENTS,
      uniqueItems: true,
      'x-must': `a list of 1 to ${MAX_PARENTS} different step names or "${RUN_INPUT}"`,
      description: `Parents: other steps or "${RUN_INPUT}" (the default)`,
    },
    shards: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_SHARDS,
      'x-must': `an integer from 1 to ${MAX_SHARDS}`,
    },
    on_failure: { enum: [...ON_FAILURE] },
    output: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      'x-must': 'a name template of 1 to 1024 characters',
      description: `A name template: {${[...TEMPLATE_VARS].join('} {')}}`,
    },
  },
  required: ['kind'],
  additionalProperties: false,
} as const

/** `POST /v1/pipelines`: checked with this schema first, then as a whole by `parsePipeline`. */
export const PIPELINE_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
      'x-must': NAME_RULE,
    },
    description: { type: 'string', maxLength: 4096, 'x-must': 'at most 4096 characters' },
    steps: {
      type: 'object',
      minProperties: 1,
      maxProperties: MAX_STEPS,
      'x-must': `1 to ${MAX_STEPS} steps`,
      propertyNames: {
        pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
        'x-must': '1 to 64 letters, digits, "_" or "-"',
      },
      additionalProperties: STEP_REQUEST,
    },
  },
  required: ['name', 'steps'],
  additionalProperties: false,
} as const

const checkPipelineBody = schemaCheck(PIPELINE_REQUEST)

interface StepRequest {
  kind: string
  params?: unknown
  use?: string[]
  shards?: number
  on_failure?: OnFailure
  output?: string
}

/**
 * Checks a pipeline as a whole: its shape (`PIPELINE_REQUEST`), every step's kind and params
 * (against the kind's schema), parents that exist, no step used by another when it writes no
 * file, and no cycle (the error names one). `E_PIPELINE_INVALID` (400) says what and where.
 */
export function parsePipeline(
  body: unknown,
  kinds: KindRegistry,
): { name: string; definition: PipelineDefinition } {
  const problem = checkPipelineBody(body, '')
  if (problem) throw invalid(problem)
  const { name, steps, description } = body as {
    name: string
    steps: Record<string, StepRequest>
    description?: string
  }
  const parsed: Record<string, StepDefinition> = {}
  for (const [step, value] of Object.entries(steps)) parsed[step] = parseStep(step, value, kinds)
  for (const [step, def] of Object.entries(parsed)) checkParents(step, def, parsed, kinds)
  const cycle = findCycle(parsed)
  if (cycle) throw invalid(`the steps form a cycle: ${cycle.join(' → ')}`)
  return { name, definition: { ...(description ? { description } : {}), steps: parsed } }
}

/** Every parent of a step is `:input` or another step that writes files. */
function checkParents(
  step: string,
  def: StepDefinition,
  steps: Record<string, StepDefinition>,
  kinds: KindRegistry,
): void {
  for (const parent of def.use) {
    if (parent === RUN_INPUT) continue
    if (parent === step) throw invalid(`steps.${step}.use names the step itself`)
    const used = steps[parent]
    if (!used) {
      throw invalid(
        `steps.${step}.use names ${JSON.stringify(parent)}, which is not a step (nor ${RUN_INPUT})`,
      )
    }
    if (kinds.get(used.kind).output === 'none') {
      throw invalid(
        `steps.${step}.use names ${parent}, whose kind ${used.kind} writes no file to use`,
      )
    }
  }
}

function parseStep(step: string, value: StepRequest, kinds: KindRegistry): StepDefinition {
  const where = `steps.${step}`
  const { kind, params, use, shards, on_failure, output } = value
  if (!kinds.has(kind)) {
    throw invalid(
      `${where}.kind must be one of ${kinds.names.join(', ')}; got ${JSON.stringify(kind)}`,
    )
  }
  let checked: Record<string, unknown>
  try {
    checked = kinds.checkParams(kind, params, `${where}.params`)
  } catch (error) {
    if (error instanceof JobError) throw invalid(error.message)
    throw error
  }
  if (output !== undefined) checkTemplate(output, kinds.get(kind).output === 'none', kind, where)
  return {
    kind,
    params: checked,
    use: use ?? [RUN_INPUT],
    shards: shards ?? 1,
    on_failure: on_failure ?? 'fail',
    ...(output === undefined ? {} : { output }),
  }
}

/** An output template uses only known `{variables}`, on a kind that writes a file. */
function checkTemplate(output: string, writesNone: boolean, kind: string, where: string) {
  if (writesNone) throw invalid(`${where}.output: ${kind} writes no file`)
  for (const match of output.matchAll(/\{([^}]*)\}/g)) {
    if (!TEMPLATE_VARS.has(match[1]!)) {
      const known = [...TEMPLATE_VARS].map((v) => `{${v}}`).join(' ')
      throw invalid(`${where}.output uses {${match[1]}}; known: ${known}`)
    }
  }
}

/** A cycle among the steps as a path that ends where it starts, or undefined. */
export function findCycle(
  steps: Record<string, Pick<StepDefinition, 'use'>>,
): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (step: string): string[] | undefined => {
    const seen = state.get(step)
    if (seen === 'done') return undefined
    if (seen === 'open') return [...path.slice(path.indexOf(step)), step]
    state.set(step, 'open')
    path.push(step)
    for (const parent of steps[step]?.use ?? []) {
      if (parent === RUN_INPUT || !(parent in steps)) continue
      const cycle = visit(parent)
      if (cycle) return cycle
    }
    path.pop()
    state.set(step, 'done')
    return undefined
  }
  for (const step of Object.keys(steps).sort()) {
    const cycle = visit(step)
    if (cycle) return cycle.reverse()
  }
  return undefined
}

/** The steps parents first (ties by name), so a run can settle them in one pass. */
export function stepOrder(definition: PipelineDefinition): string[] {
  const order: string[] = []
  const placed = new Set<string>()
  const names = Object.keys(definition.steps).sort()
  while (order.length < names.length) {
    for (const step of names) {
      if (placed.has(step)) continue
      const use = definition.steps[step]!.use
      if (use.every((p) => p === RUN_INPUT || placed.has(p))) {
        order.push(step)
        placed.add(step)
      }
    }
  }
  return order
}

/** Steps no other step uses: their outputs are the run's. */
export function leafSteps(definition: PipelineDefinition): string[] {
  const used = new Set(Object.values(definition.steps).flatMap((s) => s.use))
  return Object.keys(definition.steps).filter((step) => !used.has(step))
}

/** An output name from a step's template: `{dir}{stem}.small{ext}` for `a/b.jpg` → `a/b.small.jpg`. */
export function expandOutput(
  template: string,
  vars: { input: string; run: string; step: string; item: number },
): string {
  const slash = vars.input.lastIndexOf('/')
  const name = vars.input.slice(slash + 1)
  const dot = name.lastIndexOf('.')
  const values: Record<string, string> = {
    input: vars.input,
    dir: vars.input.slice(0, slash + 1),
    name,
    stem: dot > 0 ? name.slice(0, dot) : name,
    ext: dot > 0 ? name.slice(dot) : '',
    run: vars.run,
    step: vars.step,
    item: String(vars.item),
  }
  return template.replace(/\{([a-z]+)\}/g, (_, key: string) => values[key] ?? '')
}

function invalid(message: string): PipelineError {
  return new PipelineError('E_PIPELINE_INVALID', message)
}
