/** JSON Schema checks of request bodies and params, with messages that name the field. */
export { schemaCheck } from './schema-check.ts'
