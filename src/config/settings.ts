import { availableParallelism } from 'node:os'
import {
  adapterUrl,
  boolean,
  byteSize,
  cronOrOff,
  hostName,
  integer,
  kindPattern,
  list,
  nonEmptyString,
  oneOf,
  optionalInteger,
  optionalPath,
  optionalSecret,
  type Parser,
  webOrigin,
  zeroOr,
} from './parsers.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Piper's whole configuration, validated. Every field is documented in `SETTINGS`. */
export interface PiperConfig {
  data: string
  host: string
  port: number
  logLevel: LogLevel
  workers: number
  queue: string
  queueToken: string | undefined
  queueTimeoutMs: number | undefined
  storageToken: string | undefined
  storageCapacity: number
  storageRepairIntervalMs: number
  adminClients: string[]
  queueTlsCert: string | undefined
  queueTlsKey: string | undefined
  meta: string
  blobs: string
  staging: string | undefined
  chunkSize: number
  jsonBodyLimit: number
  publicHosts: string[]
  corsOrigins: string[]
  inlineHosts: string[]
  maxConnections: number
  headersTimeoutMs: number
  idleTimeoutMs: number
  uploadsPerClient: number
  streamsPerClient: number
  legacyRequests: number
  maxDecompressOutput: number
  kinds: string[]
  runMaxInFlight: number
  imageMaxInputPixels: number
  imageMaxFrames: number
  imageMaxInputBytes: number
  imageMaxOutputDimension: number
  imageAllowSvg: boolean
  detectThreads: number
  imageAnalyzeUploads: string[]
  tusExpireAfterMs: number
  historyRetentionMs: number
  circuitResetMs: number
  webhookAllowPrivate: boolean
  webhookRetryBaseMs: number
  webhookDisableAfterMs: number
  tusMaxSize: number
  quotaBytes: number
  quotaFiles: number
  quotaJobs: number
  rateLimitPerMinute: number
  rateLimitBurst: number
  maxQueuedJobs: number
  scrubSchedule: string | undefined
  gcSchedule: string | undefined
  scrubBytesPerSecond: number
  backups: string | undefined
  backupBytesPerSecond: number
  backupSchedule: string | undefined
  backupKeep: { last?: number; daily?: number; weekly?: number } | undefined
  url: string
  key: string | undefined
}

export type SettingName = keyof PiperConfig

/** One setting: its names in each source, how it is parsed, and its default. */
export interface Setting<K extends SettingName = SettingName> {
  name: K
  flag: string
  env: string
  doc: string
  secret?: boolean
  parse: Parser<PiperConfig[K]>
  /** The default, which may depend on settings resolved before this one (e.g. `data`). */
  fallback: (resolved: Partial<PiperConfig>) => PiperConfig[K]
}

function setting<K extends SettingName>(s: Setting<K>): Setting<K> {
  return s
}

/** Settings in resolution order: a default may use any setting listed above it. */
export const SETTINGS: readonly Setting[] = [
  setting({
    name: 'data',
    flag: '--data',
    env: 'PIPER_DATA',
    doc: 'folder that holds the embedded queue, blobs and database',
    parse: nonEmptyString('a folder path'),
    fallback: () => './piper-data',
  }),
  setting({
    name: 'host',
    flag: '--host',
    env: 'PIPER_HOST',
    doc: 'address the gateway listens on',
    parse: (raw) => {
      const host = nonEmptyString('a host name or IP address')(raw)
      if (/[\s/]/.test(host)) throw new Error('expected a host name or IP address')
      return host
    },
    fallback: () => '127.0.0.1',
  }),
  setting({
    name: 'port',
    flag: '--port',
    env: 'PIPER_PORT',
    doc: 'TCP port the gateway listens on (0 picks a free one)',
    parse: integer(0, 65535),
    fallback: () => 8080,
  }),
  setting({
    name: 'logLevel',
    flag: '--log-level',
    env: 'PIPER_LOG_LEVEL',
    doc: 'lowest level of log lines written',
    parse: oneOf(LOG_LEVELS),
    fallback: () => 'info' as const,
  }),
  setting({
    name: 'workers',
    flag: '--workers',
    env: 'PIPER_WORKERS',
    doc: 'worker threads that run jobs (default: one per core)',
    parse: integer(1, 256),
    fallback: () => availableParallelism(),
  }),
  setting({
    name: 'queue',
    flag: '--queue',
    env: 'PIPER_QUEUE',
    doc: 'queue adapter: embedded:DIR, piper://host:port or nats://host:port',
    parse: adapterUrl({ local: ['embedded'], network: ['piper', 'nats'] }),
    fallback: (c) => `embedded:${c.data}/queue`,
  }),
  setting({
    name: 'storageToken',
    flag: '--storage-token',
    env: 'PIPER_STORAGE_TOKEN',
    doc: 'shared secret between storage nodes (`piper storage serve`) and the processes using nodes://',
    secret: true,
    parse: optionalSecret(16),
    fallback: () => undefined,
  }),
  setting({
    name: 'storageCapacity',
    flag: '--storage-capacity',
    env: 'PIPER_STORAGE_CAPACITY',
    doc: 'bytes a storage node may hold, e.g. 500G (0: what its disk has)',
    parse: zeroOr(byteSize(1, 2 ** 53)),
    fallback: () => 0,
  }),
  setting({
    name: 'storageRepairIntervalMs',
    flag: '--storage-repair-interval-ms',
    env: 'PIPER_STORAGE_REPAIR_INTERVAL_MS',
    doc: 'with nodes:// blobs, time between repair passes (heal, rebalance) run by one process of the cluster; 0: only piper storage repair',
    parse: integer(0, 7 * 24 * 3_600_000),
    fallback: () => 600_000,
  }),
  setting({
    name: 'adminClients',
    flag: '--admin-clients',
    env: 'PIPER_ADMIN_CLIENTS',
    doc: 'clients (API key owners) allowed on /v1/admin/… and /metrics, comma-separated; default: default, the keyless loopback client',
    parse: list(nonEmptyString('client names')),
    fallback: () => ['default'],
  }),
  setting({
    name: 'queueTimeoutMs',
    flag: '--queue-timeout-ms',
    env: 'PIPER_QUEUE_TIMEOUT_MS',
    doc: 'how long a request to a piper:// queue server (waiting through reconnects; 30 s unless set) or to NATS JetStream (nats.js: 5 s unless set) waits for its answer before E_QUEUE_UNAVAILABLE',
    parse: optionalInteger(100, 600_000),
    fallback: () => undefined,
  }),
  setting({
    name: 'queueToken',
    flag: '--queue-token',
    env: 'PIPER_QUEUE_TOKEN',
    doc: 'shared secret between `piper queue serve` and its clients',
    secret: true,
    parse: optionalSecret(16),
    fallback: () => undefined,
  }),
  setting({
    name: 'queueTlsCert',
    flag: '--queue-tls-cert',
    env: 'PIPER_QUEUE_TLS_CERT',
    doc: 'certificate (PEM file) with which `piper queue serve` speaks wss://; needs queueTlsKey',
    parse: optionalPath,
    fallback: () => undefined,
  }),
  setting({
    name: 'queueTlsKey',
    flag: '--queue-tls-key',
    env: 'PIPER_QUEUE_TLS_KEY',
    doc: 'private key (PEM file) of queueTlsCert',
    parse: optionalPath,
    fallback: () => undefined,
  }),
  setting({
    name: 'meta',
    flag: '--meta',
    env: 'PIPER_META',
    doc: 'metadata adapter: sqlite:FILE or postgres://…',
    parse: adapterUrl({ local: ['sqlite'], network: ['postgres', 'postgresql'] }),
    fallback: (c) => `sqlite:${c.data}/meta.db`,
  }),
  setting({
    name: 'blobs',
    flag: '--blobs',
    env: 'PIPER_BLOBS',
    doc: 'blob store adapter: file:DIR, s3://bucket[/prefix][?endpoint=URL&region=R] or nodes://host:port,…[?redundancy=replicas:N|ec:K+M]',
    parse: adapterUrl({ local: ['file'], network: ['s3'], hostLists: ['nodes'] }),
    fallback: (c) => `file:${c.data}/blobs`,
  }),
  setting({
    name: 'staging',
    flag: '--staging',
    env: 'PIPER_STAGING',
    doc: 'a fast first tier for uploads, file:DIR: chunks land there and move to the blob store afterwards',
    parse: (raw) => {
      if (raw === undefined || raw === '') return undefined
      return adapterUrl({ local: ['file'], network: [] })(raw)
    },
    fallback: () => undefined,
  }),
  setting({
    name: 'chunkSize',
    flag: '--chunk-size',
    env: 'PIPER_CHUNK_SIZE',
    doc: 'bytes per content-addressed chunk of new uploads, e.g. 4M',
    parse: byteSize(64 * 1024, 256 * 1024 * 1024),
    fallback: () => 4 * 1024 * 1024,
  }),
  setting({
    name: 'jsonBodyLimit',
    flag: '--json-body-limit',
    env: 'PIPER_JSON_BODY_LIMIT',
    doc: 'largest JSON request body, e.g. of POST /files (413 beyond)',
    parse: byteSize(1024, 1024 * 1024 * 1024),
    fallback: () => 16 * 1024 * 1024,
  }),
  setting({
    name: 'publicHosts',
    flag: '--public-hosts',
    env: 'PIPER_PUBLIC_HOSTS',
    doc: 'host names the gateway answers to (the Host header; others get 421), comma-separated; default: loopback names while it listens on loopback, any name otherwise',
    parse: list(hostName),
    fallback: () => [],
  }),
  setting({
    name: 'corsOrigins',
    flag: '--cors-origins',
    env: 'PIPER_CORS_ORIGINS',
    doc: 'web origins allowed to call the API from a browser (CORS), comma-separated; default none',
    parse: list(webOrigin),
    fallback: () => [],
  }),
  setting({
    name: 'inlineHosts',
    flag: '--inline-hosts',
    env: 'PIPER_INLINE_HOSTS',
    doc: 'host names of a separate origin for user content, where downloads with ?inline=1 display HTML, SVG and scripts (still sandboxed) instead of saving them; comma-separated; default none',
    parse: list(hostName),
    fallback: () => [],
  }),
  setting({
    name: 'maxConnections',
    flag: '--max-connections',
    env: 'PIPER_MAX_CONNECTIONS',
    doc: 'open connections the gateway accepts at once; more are closed at once',
    parse: integer(1, 1_000_000),
    fallback: () => 1024,
  }),
  setting({
    name: 'headersTimeoutMs',
    flag: '--headers-timeout-ms',
    env: 'PIPER_HEADERS_TIMEOUT_MS',
    doc: 'time a client has to send a request line and headers (408 after)',
    parse: integer(1000, 600_000),
    fallback: () => 30_000,
  }),
  setting({
    name: 'idleTimeoutMs',
    flag: '--idle-timeout-ms',
    env: 'PIPER_IDLE_TIMEOUT_MS',
    doc: 'a connection on which no byte moves either way for this long is closed (uploads and downloads of any length keep going while bytes flow)',
    parse: integer(1000, 3_600_000),
    fallback: () => 120_000,
  }),
  setting({
    name: 'uploadsPerClient',
    flag: '--uploads-per-client',
    env: 'PIPER_UPLOADS_PER_CLIENT',
    doc: 'uploads one client may have in progress at once (429 beyond)',
    parse: integer(1, 100_000),
    fallback: () => 16,
  }),
  setting({
    name: 'streamsPerClient',
    flag: '--streams-per-client',
    env: 'PIPER_STREAMS_PER_CLIENT',
    doc: 'event streams (SSE) one client may hold open at once (429 beyond)',
    parse: integer(1, 100_000),
    fallback: () => 32,
  }),
  setting({
    name: 'legacyRequests',
    flag: '--legacy-requests',
    env: 'PIPER_LEGACY_REQUESTS',
    doc: 'first-design /files requests served at once, all clients (each holds its body in memory)',
    parse: integer(1, 10_000),
    fallback: () => 16,
  }),
  setting({
    name: 'maxDecompressOutput',
    flag: '--max-decompress-output',
    env: 'PIPER_MAX_DECOMPRESS_OUTPUT',
    doc: 'largest output a decompress job may write, whatever its params ask (it fails with E_OUTPUT_LIMIT past it)',
    parse: byteSize(1024, 2 ** 50),
    fallback: () => 64 * 1024 ** 3,
  }),
  setting({
    name: 'kinds',
    flag: '--kinds',
    env: 'PIPER_KINDS',
    doc: 'job kinds this process runs, comma-separated names and globs (compress,image.*); * is all; none runs no workers',
    parse: list(kindPattern),
    fallback: () => ['*'],
  }),
  setting({
    name: 'runMaxInFlight',
    flag: '--run-max-in-flight',
    env: 'PIPER_RUN_MAX_IN_FLIGHT',
    doc: 'jobs of one pipeline run queued or running at once; the rest wait (a 100 000-item run neither floods the queue nor starves other clients)',
    parse: integer(1, 1_000_000),
    fallback: () => 256,
  }),
  setting({
    name: 'imageMaxInputPixels',
    flag: '--image-max-input-pixels',
    env: 'PIPER_IMAGE_MAX_INPUT_PIXELS',
    doc: 'largest image an image job decodes, in pixels, every frame summed (E_IMAGE_TOO_LARGE beyond, before decoding)',
    parse: integer(1, 2 ** 40),
    fallback: () => 100_000_000,
  }),
  setting({
    name: 'imageMaxFrames',
    flag: '--image-max-frames',
    env: 'PIPER_IMAGE_MAX_FRAMES',
    doc: 'frames (pages) an animated or multi-page input image may have',
    parse: integer(1, 100_000),
    fallback: () => 100,
  }),
  setting({
    name: 'imageMaxInputBytes',
    flag: '--image-max-input-bytes',
    env: 'PIPER_IMAGE_MAX_INPUT_BYTES',
    doc: 'largest image file an image job reads',
    parse: byteSize(1024, 2 ** 40),
    fallback: () => 100 * 1024 * 1024,
  }),
  setting({
    name: 'imageMaxOutputDimension',
    flag: '--image-max-output-dimension',
    env: 'PIPER_IMAGE_MAX_OUTPUT_DIMENSION',
    doc: 'widest or tallest image an image job writes, in pixels',
    parse: integer(1, 65_535),
    fallback: () => 16_384,
  }),
  setting({
    name: 'imageAllowSvg',
    flag: '--image-allow-svg',
    env: 'PIPER_IMAGE_ALLOW_SVG',
    doc: 'whether image jobs read SVG input (off: E_IMAGE_UNSUPPORTED)',
    parse: boolean,
    fallback: () => false,
  }),
  setting({
    name: 'detectThreads',
    flag: '--detect-threads',
    env: 'PIPER_DETECT_THREADS',
    doc: 'threads that run image.detect models (each loads its models once, ~250–300 MB)',
    parse: integer(1, 64),
    fallback: () => Math.max(1, Math.min(2, availableParallelism())),
  }),
  setting({
    name: 'imageAnalyzeUploads',
    flag: '--image-analyze-uploads',
    env: 'PIPER_IMAGE_ANALYZE_UPLOADS',
    doc: 'whose image uploads get an image.analyze job (hashes for duplicates, statistics): * for every client, none, or client ids',
    parse: list(nonEmptyString('a client id or *')),
    fallback: () => ['none'],
  }),
  setting({
    name: 'webhookAllowPrivate',
    flag: '--webhook-allow-private',
    env: 'PIPER_WEBHOOK_ALLOW_PRIVATE',
    doc: 'whether webhooks may target loopback and private addresses (off: 400 E_WEBHOOK_TARGET, against SSRF)',
    parse: boolean,
    fallback: () => false,
  }),
  setting({
    name: 'webhookRetryBaseMs',
    flag: '--webhook-retry-base-ms',
    env: 'PIPER_WEBHOOK_RETRY_BASE_MS',
    doc: 'the delay before a failed webhook delivery is tried again; it doubles (with jitter) each time, up to an hour',
    parse: integer(100, 3_600_000),
    fallback: () => 5_000,
  }),
  setting({
    name: 'webhookDisableAfterMs',
    flag: '--webhook-disable-after-ms',
    env: 'PIPER_WEBHOOK_DISABLE_AFTER_MS',
    doc: 'a webhook whose deliveries have all failed for this long is disabled (its state says why)',
    parse: integer(60_000, 30 * 24 * 3_600_000),
    fallback: () => 24 * 3_600_000,
  }),
  setting({
    name: 'circuitResetMs',
    flag: '--circuit-reset-ms',
    env: 'PIPER_CIRCUIT_RESET_MS',
    doc: 'remote dependencies (PostgreSQL, piper:// or nats:// queues, s3://, each storage node): after 5 calls in a row get no answer, calls fail at once (503) for this long, then one tries again',
    parse: integer(100, 600_000),
    fallback: () => 10_000,
  }),
  setting({
    name: 'tusExpireAfterMs',
    flag: '--tus-expire-after-ms',
    env: 'PIPER_TUS_EXPIRE_AFTER_MS',
    doc: 'a resumable (tus) upload not completed this long after its last PATCH is freed (Upload-Expires)',
    parse: integer(60_000, 365 * 24 * 3_600_000),
    fallback: () => 24 * 3_600_000,
  }),
  setting({
    name: 'historyRetentionMs',
    flag: '--history-retention-ms',
    env: 'PIPER_HISTORY_RETENTION_MS',
    doc: 'ended jobs and runs (with their events), handled schedule ticks and webhook delivery attempts are deleted this long after they ended, at garbage collection (0: kept for ever)',
    parse: zeroOr(integer(3_600_000, 100 * 365 * 24 * 3_600_000), 'kept for ever'),
    fallback: () => 30 * 24 * 3_600_000,
  }),
  setting({
    name: 'tusMaxSize',
    flag: '--tus-max-size',
    env: 'PIPER_TUS_MAX_SIZE',
    doc: 'the largest resumable (tus) upload taken, e.g. 50G (Tus-Max-Size; 0: no limit but quotas)',
    parse: zeroOr(byteSize(1, 2 ** 53)),
    fallback: () => 0,
  }),
  setting({
    name: 'quotaBytes',
    flag: '--quota-bytes',
    env: 'PIPER_QUOTA_BYTES',
    doc: 'bytes of files one client may store, e.g. 100G (0: no quota)',
    parse: zeroOr(byteSize(1, 2 ** 53)),
    fallback: () => 0,
  }),
  setting({
    name: 'quotaFiles',
    flag: '--quota-files',
    env: 'PIPER_QUOTA_FILES',
    doc: 'files one client may store (0: no quota)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
    fallback: () => 0,
  }),
  setting({
    name: 'quotaJobs',
    flag: '--quota-jobs',
    env: 'PIPER_QUOTA_JOBS',
    doc: 'jobs one client may have queued or running at once (0: no quota)',
    parse: integer(0, 1_000_000),
    fallback: () => 0,
  }),
  setting({
    name: 'rateLimitPerMinute',
    flag: '--rate-limit-per-minute',
    env: 'PIPER_RATE_LIMIT_PER_MINUTE',
    doc: 'API requests one client may make a minute, on average, shared by every gateway (429 beyond; 0: no limit)',
    parse: integer(0, 100_000_000),
    fallback: () => 0,
  }),
  setting({
    name: 'rateLimitBurst',
    flag: '--rate-limit-burst',
    env: 'PIPER_RATE_LIMIT_BURST',
    doc: 'API requests one client may make at once under its rate limit (the bucket size)',
    parse: integer(1, 100_000_000),
    fallback: () => 60,
  }),
  setting({
    name: 'maxQueuedJobs',
    flag: '--max-queued-jobs',
    env: 'PIPER_MAX_QUEUED_JOBS',
    doc: 'jobs waiting (all clients) at which new jobs and runs are refused with 503 until the work drains (0: no bound)',
    parse: integer(0, 1_000_000_000),
    fallback: () => 0,
  }),
  setting({
    name: 'scrubSchedule',
    flag: '--scrub-schedule',
    env: 'PIPER_SCRUB_SCHEDULE',
    doc: 'when the chunk scrub reads every stored chunk back against its sha256 (cron, UTC; one process of the cluster per tick), or off',
    parse: cronOrOff,
    fallback: () => '0 3 * * *',
  }),
  setting({
    name: 'gcSchedule',
    flag: '--gc-schedule',
    env: 'PIPER_GC_SCHEDULE',
    doc: 'when garbage collection runs (cron, UTC; one process of the cluster per tick; each process also runs one at start), or off',
    parse: cronOrOff,
    fallback: () => '*/10 * * * *',
  }),
  setting({
    name: 'scrubBytesPerSecond',
    flag: '--scrub-bytes-per-second',
    env: 'PIPER_SCRUB_BYTES_PER_SECOND',
    doc: 'the most the chunk scrub reads per second, e.g. 32M',
    parse: byteSize(64 * 1024, 2 ** 40),
    fallback: () => 32 * 1024 * 1024,
  }),
  setting({
    name: 'backups',
    flag: '--backups',
    env: 'PIPER_BACKUPS',
    doc: 'blob store backups go to (piper backup, POST /v1/admin/backups): file:DIR, s3://bucket[/prefix] or nodes://…',
    parse: (raw) => {
      if (raw === undefined || raw === '') return undefined
      return adapterUrl({ local: ['file'], network: ['s3'], hostLists: ['nodes'] })(raw)
    },
    fallback: () => undefined,
  }),
  setting({
    name: 'backupBytesPerSecond',
    flag: '--backup-bytes-per-second',
    env: 'PIPER_BACKUP_BYTES_PER_SECOND',
    doc: 'the most chunk bytes a backup copies per second, e.g. 64M (0: no limit)',
    parse: zeroOr(byteSize(64 * 1024, 2 ** 40)),
    fallback: () => 64 * 1024 * 1024,
  }),
  setting({
    name: 'backupSchedule',
    flag: '--backup-schedule',
    env: 'PIPER_BACKUP_SCHEDULE',
    doc: 'with PIPER_BACKUPS, when piper up makes a backup (cron, UTC; one process of the cluster per tick), e.g. "0 * * * *"; off: only when asked',
    parse: cronOrOff,
    fallback: () => undefined,
  }),
  setting({
    name: 'backupKeep',
    flag: '--backup-keep',
    env: 'PIPER_BACKUP_KEEP',
    doc: 'after each backup piper up makes, keep these and delete the rest, e.g. last=3,daily=7,weekly=4 (unset: delete none)',
    parse: (raw) => {
      if (raw === undefined || raw === '') return undefined
      const keep: { last?: number; daily?: number; weekly?: number } = {}
      for (const part of String(raw).split(',')) {
        const m = /^\s*(last|daily|weekly)\s*=\s*(\d{1,6})\s*$/.exec(part)
        if (!m) throw new Error('expected last=N, daily=N and/or weekly=N, comma-separated')
        keep[m[1] as 'last' | 'daily' | 'weekly'] = Number(m[2])
      }
      return keep
    },
    fallback: () => undefined,
  }),
  setting({
    name: 'url',
    flag: '--url',
    env: 'PIPER_URL',
    doc: 'gateway that client commands (put, get, ls, …) talk to',
    parse: adapterUrl({ local: [], network: ['http', 'https'] }),
    fallback: () => 'http://127.0.0.1:8080/',
  }),
  setting({
    name: 'key',
    flag: '--key',
    env: 'PIPER_KEY',
    doc: 'API key that client commands send as a Bearer token',
    secret: true,
    parse: optionalSecret(1),
    fallback: () => undefined,
  }),
]

/** The environment variable that names a JSON config file (also `--config FILE`). */
export const CONFIG_FILE_ENV = 'PIPER_CONFIG'
