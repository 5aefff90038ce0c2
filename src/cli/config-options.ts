import { type Command, Option } from 'commander'
import { CONFIG_FILE_ENV, type FlagValues, SETTINGS } from '../config/index.ts'

/**
 * Adds a flag for every setting (and `--config FILE`) to a command. Defaults are not given to
 * commander: `loadConfig` applies them, so a flag left out lets the environment and file speak.
 */
export function addConfigOptions(command: Command): Command {
  command.addOption(new Option('--config <file>', `JSON config file (env ${CONFIG_FILE_ENV})`))
  for (const s of SETTINGS) {
    command.addOption(new Option(`${s.flag} <value>`, `${s.doc} (env ${s.env})`))
  }
  return command
}

/** The setting values commander parsed, keyed by setting name. */
export function flagValues(options: Record<string, unknown>): FlagValues {
  const flags: FlagValues = {}
  if (typeof options.config === 'string') flags.config = options.config
  for (const s of SETTINGS) {
    const value = options[s.name]
    if (typeof value === 'string') flags[s.name] = value
  }
  return flags
}
