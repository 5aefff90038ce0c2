/** Stable codes of the codec's errors (listed in docs/errors.md). */
export type CodecErrorCode =
  | 'E_NOT_GZIP'
  | 'E_CORRUPT_DATA'
  | 'E_TRUNCATED'
  | 'E_CHECKSUM'
  | 'E_OUTPUT_LIMIT'
  | 'E_CODEC_INPUT'

/**
 * Bad compressed input, or a limit it broke. `member` is the 0-based gzip member and `offset`
 * the byte offset in the whole compressed input where the problem was found.
 */
export class CodecError extends Error {
  readonly code: CodecErrorCode
  readonly member: number | undefined
  readonly offset: number | undefined

  constructor(
    code: CodecErrorCode,
    message: string,
    options: { member?: number; offset?: number; cause?: unknown } = {},
  ) {
    const where =
      options.member === undefined
        ? ''
        : ` (member ${options.member}, byte ${options.offset ?? '?'})`
    super(`${message}${where}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CodecError'
    this.code = code
    this.member = options.member
    this.offset = options.offset
  }
}
