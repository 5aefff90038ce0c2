import type { FromSchema } from 'json-schema-to-ts'
import type * as S from '../gateway/api-schemas.ts'

// What the gateway answers and takes, as the CLI's client reads and sends it: types made from
// the very schema objects that `/v1/openapi.json` publishes and requests are checked with, so a
// change to the API shows here as a type error rather than a copy gone stale. Types only: erased
// at run time, nothing of the gateway is loaded by the CLI.

export type ApiFile = FromSchema<typeof S.FILE>
export type ApiJob = FromSchema<typeof S.JOB>
export type ApiRun = FromSchema<typeof S.RUN>
export type ApiPipeline = FromSchema<typeof S.PIPELINE>
export type ApiSchedule = FromSchema<typeof S.SCHEDULE>
export type ApiWebhook = FromSchema<typeof S.WEBHOOK>
export type ApiUsage = FromSchema<typeof S.USAGE>

export type RunRequestBody = FromSchema<typeof S.RUN_REQUEST>
export type WebhookRequestBody = FromSchema<typeof S.WEBHOOK_REQUEST>
