import { FileError } from './errors.ts'

/** The longest name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024

/**
 * Checks a file name: UTF-8 of at most 1024 bytes, `/`-separated segments none of which is
 * empty, `.` or `..`, and no control characters. Returns the name or throws `E_FILE_NAME`
 * saying what is wrong.
 */
export function checkFileName(name: string): string {
  const fail = (why: string) => {
    throw new FileError('E_FILE_NAME', `invalid file name ${JSON.stringify(name)}: ${why}`)
  }
  if (name.length === 0) fail('it is empty')
  if (!name.isWellFormed()) fail('it is not valid UTF-8 (a lone surrogate)')
  const bytes = Buffer.byteLength(name)
  if (bytes > MAX_NAME_BYTES) fail(`it is ${bytes} bytes long, more than ${MAX_NAME_BYTES}`)
  // C0 controls, DEL and C1 controls: invisible in listings, dangerous in terminals and headers.
  const control = firstControl(name)
  if (control !== undefined) {
    fail(
      `it contains the control character U+${control.toString(16).padStart(4, '0').toUpperCase()}`,
    )
  }
  for (const segment of name.split('/')) {
    if (segment === '') fail('it has an empty segment (a leading, trailing or doubled /)')
    if (segment === '.' || segment === '..') fail(`it has a "${segment}" segment`)
  }
  return name
}

/** The code of the first C0 control, DEL or C1 control in `name`. */
function firstControl(name: string): number | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return c
  }
  return undefined
}
