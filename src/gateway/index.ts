/** The HTTP API: files, jobs, live status, health and metrics. */
export { HttpError, httpStatusOf } from './errors.ts'
export { Gateway, type GatewayOptions } from './server.ts'
