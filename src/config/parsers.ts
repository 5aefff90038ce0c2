import { Cron } from 'croner'
/**
 * Parsers for setting values. Each takes the raw value (a string from a flag or the
 * environment, or any JSON value from a config file) and returns the typed value, or throws
 * a plain `Error` whose message says what is allowed; `load.ts` adds the setting's name and
 * source to it.
 */

import { parseSize } from './size.ts'

export type Parser<T> = (raw: unknown) => T

/** A byte size (`1048576`, `64K`, `8M`, `1G`) from `min` to `max`. */
export function byteSize(min: number, max: number): Parser<number> {
  return (raw) => {
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : ''
    const value = parseSize(text, 'the value')
    if (value < min || value > max) throw new Error(`expected a size from ${min} to ${max} bytes`)
    return value
  }
}

export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
    if (!/^-?\d+$/.test(text)) throw new Error(`expected a whole number from ${min} to ${max}`)
    const value = Number(text)
    if (value < min || value > max) {
      throw new Error(`expected a whole number from ${min} to ${max}`)
    }
    return value
  }
}

/**
 * 0 (a setting's "off" or "no limit"), or what `parse` takes; with `zero`, a refusal says what
 * 0 means beside the rest that is allowed.
 */
export function zeroOr(parse: Parser<number>, zero?: string): Parser<number> {
  return (raw) => {
    if (raw === '0' || raw === 0) return 0
    if (zero === undefined) return parse(raw)
    try {
      return parse(raw)
    } catch (error) {
      throw new Error(
        `expected 0 (${zero}) or ${(error as Error).message.replace(/^expected /, '')}`,
      )
    }
  }
}

/** A whole number in the range, or nothing when unset or empty (the consumer's default). */
export function optionalInteger(min: number, max: number): Parser<number | undefined> {
  const parse = integer(min, max)
  return (raw) => (raw === undefined || raw === '' ? undefined : parse(raw))
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or a JSON boolean. */
export function boolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
  if (['true', '1', 'yes', 'on'].includes(text)) return true
  if (['false', '0', 'no', 'off'].includes(text)) return false
  throw new Error('expected true or false')
}

export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    if (typeof raw === 'string' && (choices as readonly string[]).includes(raw)) return raw as T
    throw new Error(`expected one of: ${choices.join(', ')}`)
  }
}

/** A cron expression (five fields, or six with seconds first); `off` or '' for none. */
export const cronOrOff: Parser<string | undefined> = (raw) => {
  if (raw === undefined || raw === '' || raw === 'off') return undefined
  if (typeof raw !== 'string')
    throw new Error('expected a cron expression such as "0 3 * * *", or off')
  try {
    new Cron(raw, { paused: true })
  } catch (error) {
    throw new Error(
      `expected a cron expression such as "0 3 * * *", or off: ${(error as Error).message}`,
    )
  }
  return raw.trim()
}

export function nonEmptyString(what: string): Parser<string> {
  return (raw) => {
    if (typeof raw !== 'string' || raw.trim() === '') throw new Error(`expected ${what}`)
    if (/[\0]/.test(raw)) throw new Error(`expected ${what} without NUL characters`)
    return raw
  }
}

/** A file path, or nothing when unset or empty. */
export function optionalPath(raw: unknown): string | undefined {
  return raw === undefined || raw === '' ? undefined : nonEmptyString('a file path')(raw)
}

export function optionalSecret(minLength: number): Parser<string | undefined> {
  return (raw) => {
    if (raw === undefined || raw === '') return undefined
    if (typeof raw !== 'string' || raw.length < minLength) {
      throw new Error(`expected a secret of at least ${minLength} characters`)
    }
    return raw
  }
}

/**
 * A comma-separated list (or, from a config file, a JSON array of strings), each item checked
 * by `item`; empty means none.
 */
export function list(item: Parser<string>): Parser<string[]> {
  return (raw) => {
    const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined
    if (!items) throw new Error('expected a comma-separated list')
    return items
      .map((i) => (typeof i === 'string' ? i.trim() : i))
      .filter((i) => i !== '')
      .map(item)
  }
}

/** A job kind's name or a glob of them (`compress`, `image.*`, `*`), or `none`. */
export function kindPattern(raw: unknown): string {
  if (typeof raw !== 'string' || !/^(\*|none|[a-z*][a-z0-9*-]*(\.[a-z*][a-z0-9*-]*)*)$/.test(raw)) {
    throw new Error('expected kind names or globs such as compress or image.*')
  }
  return raw
}

/** A host name or IP address as a browser sends it in `Host` (no port), lowercased. */
export function hostName(raw: unknown): string {
  const host = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/.test(host)) {
    throw new Error(
      `expected host names without ports (e.g. files.example.com), got ${JSON.stringify(raw)}`,
    )
  }
  return host
}

/** A web origin, `scheme://host[:port]`, as browsers send it in `Origin` (RFC 6454 §6.2). */
export function webOrigin(raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim().replace(/\/$/, '') : ''
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== text) {
    throw new Error(
      `expected origins like https://app.example.com (scheme, host, port only), got ${JSON.stringify(raw)}`,
    )
  }
  return url.origin
}

const SCHEME = /^([a-z][a-z0-9+.-]*):(.*)$/i

/**
 * An adapter URL: `scheme:rest`. Local schemes (`embedded:`, `sqlite:`, `file:`) take a path
 * after the colon; network schemes must parse as a WHATWG URL with a host.
 */
export function adapterUrl(schemes: {
  local: readonly string[]
  network: readonly string[]
  /** Schemes naming several `host:port`s, comma-separated (`nodes://a:7601,b:7601`). */
  hostLists?: readonly string[]
}): Parser<string> {
  const all = [...schemes.local, ...schemes.network, ...(schemes.hostLists ?? [])]
    .map((s) => `${s}:`)
    .join(', ')
  return (raw) => {
    const match = typeof raw === 'string' ? SCHEME.exec(raw.trim()) : null
    if (!match) throw new Error(`expected a URL starting with one of: ${all}`)
    const scheme = match[1]!.toLowerCase()
    const rest = match[2]!
    if (schemes.local.includes(scheme)) {
      if (rest === '' || rest === '//') throw new Error(`expected a path after "${scheme}:"`)
      return `${scheme}:${rest}`
    }
    if (schemes.hostLists?.includes(scheme)) {
      if (!/^\/\/[^/?#\s]+(\?[^#\s]*)?$/.test(rest)) {
        throw new Error(`expected ${scheme}://host:port,host:port[?…]`)
      }
      return `${scheme}:${rest}`
    }
    if (schemes.network.includes(scheme)) {
      let url: URL
      try {
        url = new URL(raw as string)
      } catch {
        throw new Error(`"${scheme}:" URL does not parse; expected ${scheme}://host[:port]/…`)
      }
      if (url.host === '') throw new Error(`"${scheme}:" URL needs a host`)
      return url.href
    }
    throw new Error(`unknown scheme "${scheme}:"; expected one of: ${all}`)
  }
}

/** A URL whose password (if any) is replaced by `****`, for printing. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value)
    if (url.password !== '') url.password = '****'
    // A NATS token travels as the user name (nats://TOKEN@host).
    else if (url.username !== '' && url.protocol === 'nats:') url.username = '****'
    else return value
    return url.href
  } catch {
    return value
  }
}
