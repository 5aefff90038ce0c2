import { readFile } from 'node:fs/promises'
import type { FlagValues } from '../../config/index.ts'
import { generateApiKey, hashApiKey } from '../../gateway/index.ts'
import { CliError, usageError } from '../errors.ts'
import { withMeta } from './with-meta.ts'

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * `piper keys create CLIENT`: prints a new API key once; only its sha256 is stored. With
 * `--from-file FILE` the key is the file's content (a secret mounted by Kubernetes, say) and is
 * not printed; a key already there for that client is left as it is, so the command can run at
 * every start (an init container).
 */
export async function keysCreateCommand(
  client: string,
  options: { label?: string; fromFile?: string },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  if (!CLIENT_ID.test(client)) {
    throw new CliError(
      `invalid client "${client}": use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    )
  }
  if (options.fromFile !== undefined) {
    const key = await readKeyFile(options.fromFile)
    const hash = hashApiKey(key)
    await withMeta(flags, async (meta) => {
      const owner = await meta.clientForKey(hash)
      if (owner === client) return
      if (owner !== undefined) {
        throw new CliError(`the key in ${options.fromFile} is another client's already`)
      }
      await meta.addApiKey(client, hash, options.label ?? '')
    })
    return
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

/** A key from a file: its content without the final newline; at least 32 printable characters. */
async function readKeyFile(path: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read the key file ${path}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const key = text.replace(/\r?\n$/, '')
  if (!/^[\x21-\x7e]{32,512}$/.test(key)) {
    throw usageError(
      `the key in ${path} must be 32 to 512 printable characters without spaces (piper keys create makes one)`,
    )
  }
  return key
}
