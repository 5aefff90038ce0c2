import type { FlagValues } from '../../config/index.ts'
import { generateApiKey, hashApiKey } from '../../gateway/index.ts'
import { CliError } from '../errors.ts'
import { withMeta } from './with-meta.ts'

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** `piper keys create CLIENT`: prints a new API key once; only its sha256 is stored. */
export async function keysCreateCommand(
  client: string,
  options: { label?: string },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  if (!CLIENT_ID.test(client)) {
    throw new CliError(
      `invalid client "${client}": use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    )
  }
  const key = generateApiKey()
  await withMeta(flags, (meta) => meta.addApiKey(client, hashApiKey(key), options.label ?? ''))
  out(`${key}\n`)
}

/** `piper keys ls`: clients, labels and key fingerprints (never the keys). */
export async function keysListCommand(flags: FlagValues, out: (text: string) => void) {
  const keys = await withMeta(flags, (meta) => meta.listApiKeys())
  for (const k of keys) {
    out(`${k.clientId}\t${k.hashPrefix}\t${new Date(k.created).toISOString()}\t${k.label}\n`)
  }
}

/** `piper keys revoke CLIENT FINGERPRINT`. */
export async function keysRevokeCommand(client: string, fingerprint: string, flags: FlagValues) {
  if (!/^[0-9a-f]{8,64}$/.test(fingerprint)) {
    throw new CliError('the fingerprint is the hex prefix `piper keys ls` shows (8 or more digits)')
  }
  const removed = await withMeta(flags, (meta) => meta.revokeApiKeys(client, fingerprint))
  if (removed === 0) throw new CliError(`no key of ${client} has fingerprint ${fingerprint}`)
}
