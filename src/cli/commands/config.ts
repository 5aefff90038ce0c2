import { type FlagValues, loadConfig, printableConfig } from '../../config/index.ts'

/** `piper config`: prints the effective configuration as JSON, secrets masked. */
export function configCommand(flags: FlagValues, write: (text: string) => void): void {
  const loaded = loadConfig({ flags })
  const out = {
    file: loaded.file ?? null,
    settings: printableConfig(loaded),
    warnings: loaded.warnings,
  }
  write(`${JSON.stringify(out, null, 2)}\n`)
}
