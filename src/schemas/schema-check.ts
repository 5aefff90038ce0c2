import { Ajv, type ErrorObject } from 'ajv'

/** One compiler for every request schema: strict, so a schema with a typo fails at start. */
const ajv = new Ajv({ allErrors: false, strict: true })

/**
 * A check of values against a JSON Schema: undefined when the value fits, else what is wrong,
 * naming the field from `where` (`params.maxOutputBytes must be >= 1`, `body has an unknown
 * field "x"`). The same schema objects describe the API (`/v1/openapi.json`).
 */
export function schemaCheck(schema: object): (value: unknown, where: string) => string | undefined {
  const validate = ajv.compile(schema)
  return (value, where) => (validate(value) ? undefined : describe(validate.errors?.[0], where))
}

function describe(error: ErrorObject | undefined, where: string): string {
  if (!error) return `${where} is invalid`
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
  const field = `${where}${path}`
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty
    return `${field} has an unknown field ${JSON.stringify(extra)}`
  }
  if (error.keyword === 'required') {
    return `${field}.${(error.params as { missingProperty: string }).missingProperty} is required`
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues
    return `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return `${field} ${error.message ?? 'is invalid'}`
}
