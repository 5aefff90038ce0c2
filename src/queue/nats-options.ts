import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from '@nats-io/transport-node'
import { QueueError } from './errors.ts'

/** Connection options from a URL; `creds` is the credentials file's content. */
export type NatsUrlOptions = Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'tls'> & {
  servers: string
  creds?: Uint8Array
}

/**
 * The connection options a `nats://` URL names, as NATS's own tools spell them:
 *
 * - `nats://user:password@host:4222`: user and password;
 * - `nats://TOKEN@host:4222`: a token (a user name with no password);
 * - `?creds=/path/user.creds`: a credentials file (JWT and NKey seed, as `nsc` writes it);
 * - `?tls=true`, with `?ca=FILE` to trust a private CA and `?cert=FILE&key=FILE` for a client
 *   certificate: TLS (any of these implies it).
 *
 * `namespace` is Piper's (see NatsQueue) and is not passed on.
 */
export function natsConnectionOptions(url: string): NatsUrlOptions {
  const parsed = new URL(url)
  const query = parsed.searchParams
  const options: NatsUrlOptions = {
    servers: `${parsed.hostname || '127.0.0.1'}:${parsed.port || 4222}`,
  }
  const user = decodeURIComponent(parsed.username)
  const password = decodeURIComponent(parsed.password)
  if (user && password) {
    options.user = user
    options.pass = password
  } else if (user) options.token = user
  const creds = query.get('creds')
  if (creds) options.creds = readCreds(creds)
  const [ca, cert, key] = [query.get('ca'), query.get('cert'), query.get('key')]
  if ((cert === null) !== (key === null)) {
    throw new QueueError(
      'E_QUEUE_ARGUMENT',
      'a NATS client certificate needs both ?cert= and ?key=',
    )
  }
  if (query.get('tls') === 'true' || ca || cert) {
    options.tls = {
      ...(ca ? { caFile: ca } : {}),
      ...(cert && key ? { certFile: cert, keyFile: key } : {}),
    }
  }
  return options
}

/** A NATS URL fit for logs and messages: its password or token replaced by `****`. */
export function maskNatsUrl(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '****'
  else if (parsed.username) parsed.username = '****'
  return parsed.href
}

function readCreds(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new QueueError(
      'E_QUEUE_ARGUMENT',
      `cannot read the NATS credentials file ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
}
