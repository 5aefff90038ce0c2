/** Exit codes of the `piper` command, like gzip's and the BSD sysexits convention. */
export const EXIT_OK = 0
/** A runtime failure: the command was well formed but could not be carried out. */
export const EXIT_FAILURE = 1
/** A usage or configuration error: unknown command or flag, bad setting value. */
export const EXIT_USAGE = 2

/** A failure the CLI reports as one line, without a stack trace. */
export class CliError extends Error {
  readonly code: string
  readonly exitCode: number

  constructor(
    message: string,
    options: { code?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CliError'
    this.code = options.code ?? 'E_CLI'
    this.exitCode = options.exitCode ?? EXIT_FAILURE
  }
}

/** A flag, argument or file the command cannot take: exit 2 (`E_USAGE`), the message says why. */
export function usageError(message: string, cause?: unknown): CliError {
  return new CliError(message, { code: 'E_USAGE', exitCode: EXIT_USAGE, cause })
}
