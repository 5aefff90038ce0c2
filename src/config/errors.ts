/** Where a configuration value came from, for error messages and `piper config`. */
export type SettingSource = 'default' | 'file' | 'env' | 'flag'

/**
 * A configuration value that cannot be used. The message names the setting, where the value
 * came from and what is allowed, so the user can fix it without reading the docs.
 */
export class ConfigError extends Error {
  readonly code = 'E_CONFIG'
  readonly setting: string
  readonly source: SettingSource | undefined

  constructor(
    message: string,
    options: { setting: string; source?: SettingSource | undefined; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ConfigError'
    this.setting = options.setting
    this.source = options.source
  }
}
