/** Stable codes of the pipelines module; `docs/errors.md` lists them. */
export type PipelineErrorCode =
  | 'E_PIPELINE_INVALID'
  | 'E_PIPELINE_NOT_FOUND'
  | 'E_RUN_REQUEST'
  | 'E_RUN_NOT_FOUND'
  | 'E_RUN_FINISHED'

/** A pipeline that cannot be stored or run, or a run that cannot be found or changed. */
export class PipelineError extends Error {
  readonly code: PipelineErrorCode

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PipelineError'
    this.code = code
  }
}
