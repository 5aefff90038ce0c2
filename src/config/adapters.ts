import { type BlobStore, FsBlobStore } from '../blobs/index.ts'
import { type MetaStore, PostgresDriver, SqliteDriver, SqlMetaStore } from '../meta/index.ts'
import { EmbeddedQueue, NatsQueue, type Queue, RemoteQueue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { ConfigError } from './errors.ts'

/** The part after `scheme:` of a local adapter URL (`sqlite:./data/meta.db` → `./data/meta.db`). */
function localPath(url: string): string {
  return url.slice(url.indexOf(':') + 1).replace(/^\/\/(?=\/)/, '')
}

/** The blob store a `PIPER_BLOBS` URL names (not started). */
export function blobStoreFor(url: string): BlobStore {
  if (url.startsWith('file:')) return new FsBlobStore(localPath(url))
  throw new ConfigError(
    `blob store ${url.split(':')[0]}: is not available in this version of Piper (use file:DIR)`,
    { setting: 'blobs' },
  )
}

/** The metadata store a `PIPER_META` URL names (not started; PostgreSQL's driver loads then). */
export function metaStoreFor(url: string): MetaStore {
  if (url.startsWith('sqlite:')) return new SqlMetaStore(new SqliteDriver(localPath(url)))
  if (url.startsWith('postgres:') || url.startsWith('postgresql:')) {
    return new SqlMetaStore(new PostgresDriver(url))
  }
  throw new ConfigError(`unknown metadata store ${url}`, { setting: 'meta' })
}

/** The queue a `PIPER_QUEUE` URL names (not started; the NATS client loads then). */
export function queueFor(url: string, options: { logger: Logger; token?: string }): Queue {
  if (url.startsWith('embedded:')) {
    return new EmbeddedQueue({ dir: localPath(url), logger: options.logger })
  }
  if (url.startsWith('piper:')) {
    return new RemoteQueue({ url, token: options.token, logger: options.logger })
  }
  if (url.startsWith('nats:')) return new NatsQueue(url, options.logger)
  throw new ConfigError(`unknown queue ${url}`, { setting: 'queue' })
}
