import { Ajv, type ErrorObject } from 'ajv'

/**
 * One compiler for every request schema: strict, so a schema with a typo fails at start;
 * verbose, so an error carries the schema it broke (for its `x-must`).
 */
const ajv = new Ajv({ allErrors: false, strict: true, verbose: true })
/**
 * `x-must`: what a value must be, in words, said instead of the rule it broke
 * (`name must be 1 to 128 letters, …` rather than `must match pattern "^[A-Za-z0-9]…"`). An
 * annotation: it validates nothing, and OpenAPI 3.1 allows `x-` keys in a schema.
 */
ajv.addKeyword({ keyword: 'x-must', schemaType: 'string' })

/**
 * A check of values against a JSON Schema: undefined when the value fits, else what is wrong,
 * naming the field from `where` (`params.maxOutputBytes must be >= 1`, `body has an unknown
 * field "x"`; with `where` empty, from the top: `steps.a.shards must be …`). The same schema
 * objects describe the API (`/v1/openapi.json`).
 */
export function schemaCheck(schema: object): (value: unknown, where: string) => string | undefined {
  const validate = ajv.compile(schema)
  return (value, where) =>
    validate(value) ? undefined : describe(firstError(validate.errors), where)
}

/**
 * The error to tell: the first, unless a `oneOf` failed, whose branches' errors come before its
 * own (a value that fits no branch is told what the choice is, not why the first branch failed).
 */
function firstError(errors: ErrorObject[] | null | undefined): ErrorObject | undefined {
  return errors?.find((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf') ?? errors?.[0]
}

function describe(error: ErrorObject | undefined, where: string): string {
  if (!error) return `${where || 'the body'} is invalid`
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
  const field = `${where}${path}`.replace(/^\./, '') || 'the body'
  const must = (error.parentSchema as { 'x-must'?: string } | undefined)?.['x-must']
  const key = (error as { propertyName?: string }).propertyName
  if (key !== undefined) {
    return `${field} has a key ${JSON.stringify(key)}, which must be ${must ?? 'valid'}`
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty
    return `${field} has an unknown field ${JSON.stringify(extra)}`
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty
    return `${field === 'the body' ? '' : `${field}.`}${missing} is required`
  }
  if (must !== undefined) return `${field} must be ${must}`
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues
    return `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return `${field} ${error.message ?? 'is invalid'}`
}
