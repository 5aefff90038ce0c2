/**
 * Piper's configuration: one typed object built from flags, `PIPER_*` environment variables
 * and an optional JSON file, validated at start-up.
 */
export { blobStoreFor, localPath, metaStoreFor, queueFor } from './adapters.ts'
export { ConfigError, type SettingSource } from './errors.ts'
export { type FlagValues, type LoadConfigOptions, type LoadedConfig, loadConfig } from './load.ts'
export { maskUrlPassword } from './parsers.ts'
export { type PrintableSetting, printableConfig } from './printable.ts'
export {
  CONFIG_FILE_ENV,
  LOG_LEVELS,
  type LogLevel,
  type PiperConfig,
  SETTINGS,
  type Setting,
  type SettingName,
} from './settings.ts'
export { parseSize } from './size.ts'
