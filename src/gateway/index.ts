/** The HTTP API: files, jobs, live status, health and metrics. */
export {
  ClientResolver,
  DEFAULT_CLIENT,
  generateApiKey,
  hashApiKey,
} from './api-keys.ts'
export { describeError, HttpError } from './errors.ts'
export { parseRange } from './http-range.ts'
export { Gateway, type GatewayOptions } from './server.ts'
