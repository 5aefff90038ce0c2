import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError, type SettingSource } from './errors.ts'
import { CONFIG_FILE_ENV, type PiperConfig, SETTINGS, type SettingName } from './settings.ts'

/** Raw values from the command line, by setting name; `undefined` means not given. */
export type FlagValues = Partial<Record<SettingName | 'config', string | undefined>>

export interface LoadConfigOptions {
  flags?: FlagValues
  env?: Record<string, string | undefined>
  /** Base for relative paths; defaults to `process.cwd()`. */
  cwd?: string
}

/** A validated configuration with the source of every value. */
export interface LoadedConfig {
  config: PiperConfig
  sources: Record<SettingName, SettingSource>
  /** Absolute path of the config file read, if any. */
  file: string | undefined
  /** Things worth telling the user that do not stop start-up (unknown `PIPER_*` variables). */
  warnings: string[]
}

const NOT_SETTINGS = new Set([CONFIG_FILE_ENV])

/**
 * Builds the configuration from defaults, an optional JSON file (`--config` or `PIPER_CONFIG`),
 * `PIPER_*` environment variables and flags, later sources winning. Throws `ConfigError`
 * naming the first bad setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const flags = options.flags ?? {}
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()

  const fileSource = flags.config !== undefined ? 'flag' : 'env'
  const filePath = flags.config ?? env[CONFIG_FILE_ENV]
  const file = filePath ? resolve(cwd, filePath) : undefined
  const fileValues = file ? readConfigFile(file, fileSource) : {}

  const resolved: Partial<PiperConfig> = {}
  const sources = {} as Record<SettingName, SettingSource>
  for (const s of SETTINGS) {
    const candidates: [SettingSource, string, unknown][] = [
      ['flag', s.flag, flags[s.name]],
      ['env', s.env, env[s.env]],
      ['file', `"${s.name}" in ${file}`, fileValues[s.name]],
    ]
    const given = candidates.find(([, , raw]) => raw !== undefined)
    let value: unknown
    if (given) {
      const [source, where, raw] = given
      try {
        value = s.parse(raw)
      } catch (error) {
        const shown = s.secret ? '(hidden)' : JSON.stringify(raw)
        throw new ConfigError(
          `invalid ${s.name} from ${where}=${shown}: ${(error as Error).message}`,
          { setting: s.name, source, cause: error },
        )
      }
      sources[s.name] = source
    } else {
      value = s.fallback(resolved)
      sources[s.name] = 'default'
    }
    if (s.name === 'data') value = resolve(cwd, value as string)
    ;(resolved as Record<string, unknown>)[s.name] = value
  }

  const known = new Set(SETTINGS.map((s) => s.env))
  const warnings = Object.keys(env)
    .filter((name) => name.startsWith('PIPER_') && !known.has(name) && !NOT_SETTINGS.has(name))
    .map((name) => `unknown environment variable ${name} is ignored`)

  return { config: resolved as PiperConfig, sources, file, warnings }
}

function readConfigFile(path: string, source: SettingSource): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'unreadable'
    throw new ConfigError(`config file ${path}: ${reason}`, {
      setting: 'config',
      source,
      cause: error,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`, {
      setting: 'config',
      source,
      cause: error,
    })
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of settings`, {
      setting: 'config',
      source,
    })
  }
  const names = SETTINGS.map((s) => s.name)
  for (const key of Object.keys(parsed)) {
    if (!(names as string[]).includes(key)) {
      throw new ConfigError(
        `config file ${path} has unknown setting "${key}"; allowed: ${names.join(', ')}`,
        { setting: key, source: 'file' },
      )
    }
  }
  return parsed as Record<string, unknown>
}
