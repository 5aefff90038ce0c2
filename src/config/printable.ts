import type { LoadedConfig } from './load.ts'
import { maskUrlPassword } from './parsers.ts'
import { SETTINGS } from './settings.ts'

/** One row of `piper config`: the effective value (secrets masked) and where it came from. */
export interface PrintableSetting {
  value: string | number | boolean | null
  source: string
  env: string
  flag: string
}

/** The effective configuration with secrets and URL passwords replaced by `****`. */
export function printableConfig(loaded: LoadedConfig): Record<string, PrintableSetting> {
  const out: Record<string, PrintableSetting> = {}
  for (const s of SETTINGS) {
    const raw = loaded.config[s.name]
    let value: string | number | boolean | null
    if (raw === undefined) value = null
    else if (s.secret) value = '****'
    else if (typeof raw === 'string') value = maskUrlPassword(raw)
    else if (Array.isArray(raw)) value = raw.join(',')
    else if (typeof raw === 'object') {
      // As it is written (`last=3,daily=7`), so the value printed can be given back.
      value = Object.entries(raw)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    } else value = raw
    out[s.name] = { value, source: loaded.sources[s.name], env: s.env, flag: s.flag }
  }
  return out
}
