import { Ajv, type ValidateFunction } from 'ajv'
import { QueueError } from './errors.ts'

const ajv = new Ajv({ allErrors: false, strict: true })

/** Checks payloads against a topic's JSON Schema (draft 2020-12 subset that Ajv's default supports). */
export class SchemaCheck {
  readonly schema: object
  readonly #validate: ValidateFunction

  constructor(topic: string, schema: object) {
    this.schema = schema
    try {
      this.#validate = ajv.compile(schema)
    } catch (error) {
      throw new QueueError(
        'E_SCHEMA',
        `the schema of topic ${topic} is not a valid JSON Schema: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  /** Throws `E_SCHEMA` naming the first field that does not match. */
  check(topic: string, payload: Uint8Array): void {
    let value: unknown
    try {
      value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString())
    } catch {
      throw new QueueError('E_SCHEMA', `topic ${topic} takes JSON payloads; this one is not JSON`)
    }
    if (this.#validate(value)) return
    const error = this.#validate.errors?.[0]
    let field = error?.instancePath ?? ''
    let problem = error?.message ?? 'is invalid'
    if (error?.keyword === 'required') {
      field += `/${(error.params as { missingProperty: string }).missingProperty}`
      problem = 'is required'
    }
    throw new QueueError(
      'E_SCHEMA',
      `payload does not match the schema of topic ${topic}: ${field || 'the payload'} ${problem}`,
    )
  }
}
