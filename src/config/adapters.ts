// Adapters load when one is picked: a command that needs none (`piper compress`, `piper
// --version`) does not load the queue, the stores and their libraries (~200 ms of start-up).
import type { BlobStore } from '../blobs/index.ts'
import type {
  ClientUsageReader,
  EventSignals,
  HistoryStore,
  ImageStore,
  LeaderLeases,
  MetaCalls,
  MetaDumps,
  MetaStore,
  NodeRegistry,
  RateBuckets,
  RunStore,
  ScheduleStore,
  ScheduleTicks,
  TusUploadStore,
  UsageStore,
  WebhookStore,
} from '../meta/index.ts'
import type { Breakers } from '../net/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { ConfigError } from './errors.ts'

/** The part after `scheme:` of a local adapter URL (`sqlite:./data/meta.db` → `./data/meta.db`). */
export function localPath(url: string): string {
  return url.slice(url.indexOf(':') + 1).replace(/^\/\/(?=\/)/, '')
}

/** The blob store a `PIPER_BLOBS` URL names (not started). */
export async function blobStoreFor(
  url: string,
  options: {
    storageToken?: string
    logger?: Logger
    registry?: NodeRegistry
    /** A remote store's calls go through a circuit breaker of these. */
    breakers?: Breakers
  } = {},
): Promise<BlobStore> {
  if (url.startsWith('nodes:')) {
    const { NodesBlobStore, nodesOptionsFromUrl } = await import('../storage/index.ts')
    let parsed: ReturnType<typeof nodesOptionsFromUrl>
    try {
      parsed = nodesOptionsFromUrl(url)
    } catch (error) {
      throw new ConfigError((error as Error).message, { setting: 'blobs' })
    }
    if (parsed.registry && !options.registry) {
      throw new ConfigError('nodes://registry needs the metadata store here', { setting: 'blobs' })
    }
    return new NodesBlobStore({
      ...parsed,
      registry: parsed.registry ? options.registry : undefined,
      token: options.storageToken,
      logger: options.logger,
      breakers: options.breakers,
    })
  }
  if (url.startsWith('file:')) {
    const { FsBlobStore } = await import('../blobs/index.ts')
    return new FsBlobStore(localPath(url))
  }
  if (url.startsWith('s3:')) {
    const { S3BlobStore, s3OptionsFromUrl } = await import('../blobs/index.ts')
    try {
      return new S3BlobStore({ ...s3OptionsFromUrl(url), breakers: options.breakers })
    } catch (error) {
      throw new ConfigError((error as Error).message, { setting: 'blobs' })
    }
  }
  throw new ConfigError(
    `blob store ${url.split(':')[0]}: is not a blob store Piper knows (use file:DIR, s3://bucket or nodes://host:port,…)`,
    { setting: 'blobs' },
  )
}

/** The metadata store a `PIPER_META` URL names (not started; PostgreSQL's driver loads then). */
export async function metaStoreFor(
  url: string,
  options: { breakers?: Breakers } = {},
): Promise<
  MetaStore &
    MetaCalls &
    RunStore &
    ImageStore &
    NodeRegistry &
    LeaderLeases &
    ClientUsageReader &
    MetaDumps &
    ScheduleStore &
    ScheduleTicks &
    RateBuckets &
    TusUploadStore &
    WebhookStore &
    UsageStore &
    HistoryStore &
    EventSignals
> {
  const postgres = url.startsWith('postgres:') || url.startsWith('postgresql:')
  if (url.startsWith('sqlite:') || postgres) {
    const { PostgresDriver, SqliteDriver, SqlMetaStore } = await import('../meta/index.ts')
    return new SqlMetaStore(
      postgres
        ? new PostgresDriver(url, { breakers: options.breakers })
        : new SqliteDriver(localPath(url)),
    )
  }
  throw new ConfigError(`unknown metadata store ${url}`, { setting: 'meta' })
}

/** The queue a `PIPER_QUEUE` URL names (not started; the NATS client loads then). */
export async function queueFor(
  url: string,
  options: { logger: Logger; token?: string; timeoutMs?: number; breakers?: Breakers },
): Promise<Queue> {
  if (!['embedded:', 'piper:', 'nats:'].some((scheme) => url.startsWith(scheme))) {
    throw new ConfigError(`unknown queue ${url}`, { setting: 'queue' })
  }
  const { BreakerQueue, EmbeddedQueue, NatsQueue, QUEUE_BREAKER_POLICY, RemoteQueue } =
    await import('../queue/index.ts')
  if (url.startsWith('embedded:')) {
    return new EmbeddedQueue({ dir: localPath(url), logger: options.logger })
  }
  const remote = url.startsWith('piper:')
    ? new RemoteQueue({
        url,
        token: options.token,
        logger: options.logger,
        requestTimeoutMs: options.timeoutMs,
      })
    : new NatsQueue(url, options.logger, { timeoutMs: options.timeoutMs })
  const breaker = options.breakers?.of('queue', QUEUE_BREAKER_POLICY)
  return breaker ? new BreakerQueue(remote, breaker) : remote
}
