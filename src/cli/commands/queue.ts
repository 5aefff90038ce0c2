import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { type FlagValues, loadConfig, queueFor } from '../../config/index.ts'
import { parseFsyncPolicy } from '../../log/index.ts'
import {
  checkTopic,
  EmbeddedQueue,
  type Queue,
  QueueServer,
  type TopicStats,
} from '../../queue/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { CliError, usageError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'

type Out = (text: string) => void

async function withQueue<T>(flags: FlagValues, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const { config } = loadConfig({ flags })
  const logger = createLogger({ level: flags.logLevel ? config.logLevel : 'warn' })
  const queue = await queueFor(config.queue, { logger, token: config.queueToken })
  await queue.start()
  try {
    return await fn(queue)
  } finally {
    await queue.close()
  }
}

export interface ServeOptions {
  host: string
  port: string
  fsync?: string
}

/** `piper queue serve`: the embedded queue of `--data` over WebSocket until SIGTERM. */
export async function queueServeCommand(options: ServeOptions, flags: FlagValues): Promise<void> {
  const { config } = loadConfig({ flags })
  const logger = createLogger({ level: config.logLevel })
  const port = Number(options.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port: expected a TCP port, got "${options.port}"`)
  }
  const fsync = options.fsync ? parseFsyncPolicy(options.fsync) : undefined
  const queue = new EmbeddedQueue({
    dir: `${config.data}/queue`,
    logger,
    defaults: fsync ? { fsync } : undefined,
  })
  const server = new QueueServer({
    queue,
    host: options.host,
    port,
    token: config.queueToken,
    logger,
    tls: await serverTls(config.queueTlsCert, config.queueTlsKey),
  })
  const supervisor = new Supervisor(logger)
  const stopped = supervisor.stopOnSignals()
  await supervisor.start([
    { name: 'queue', start: () => queue.start(), close: () => queue.close() },
    { name: 'queue-server', start: () => server.start(), close: () => server.close() },
  ])
  logger.info({ data: config.data, port: server.port }, 'piper queue is serving')
  await stopped
}

/** The certificate and key `queue serve` speaks wss:// with, read from their files. */
async function serverTls(
  cert: string | undefined,
  key: string | undefined,
): Promise<{ cert: Uint8Array; key: Uint8Array } | undefined> {
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined) {
    throw usageError('wss:// needs both --queue-tls-cert and --queue-tls-key')
  }
  const read = (path: string) =>
    readFile(path).catch((error: Error) => {
      throw new CliError(`cannot read ${path}: ${error.message}`)
    })
  return { cert: await read(cert), key: await read(key) }
}

export interface PublishFlags {
  file?: string
  idempotencyKey?: string
  header?: string[]
}

/** `piper queue publish TOPIC`: one message per stdin line (or `--file`); prints each offset. */
export async function queuePublishCommand(
  topic: string,
  options: PublishFlags,
  flags: FlagValues,
  out: Out,
): Promise<void> {
  checkTopic(topic)
  const headers: Record<string, string> = {}
  for (const header of options.header ?? []) {
    const at = header.indexOf('=')
    if (at < 1) throw new CliError(`--header: expected NAME=VALUE, got "${header}"`)
    headers[header.slice(0, at)] = header.slice(at + 1)
  }
  await withQueue(flags, async (queue) => {
    if (options.file !== undefined) {
      const payload = await readFile(options.file).catch((error: Error) => {
        throw new CliError(`cannot read ${options.file}: ${error.message}`)
      })
      out(
        `${await queue.publish(topic, payload, { headers, idempotencyKey: options.idempotencyKey })}\n`,
      )
      return
    }
    if (options.idempotencyKey !== undefined) {
      throw new CliError('--idempotency-key goes with --file (one message)')
    }
    // Lines are published without waiting for each other, confirmations printed in order.
    const confirms: Promise<number>[] = []
    const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
    for await (const line of lines) {
      const confirm = queue.publish(topic, Buffer.from(line), { headers })
      confirm.catch(() => {}) // awaited below, in order; this only keeps it from counting as unhandled
      confirms.push(confirm)
      if (confirms.length >= 1024) out(`${await confirms.shift()}\n`)
    }
    for (const confirm of confirms) out(`${await confirm}\n`)
  })
}

export interface ConsumeFlags {
  group: string
  count?: string
  ack: boolean
  wait: string
}

/** `piper queue consume TOPIC --group G`: prints payloads, one per line. */
export async function queueConsumeCommand(
  topic: string,
  options: ConsumeFlags,
  flags: FlagValues,
  out: Out,
): Promise<void> {
  const count = options.count === undefined ? Number.POSITIVE_INFINITY : Number(options.count)
  const waitMs = Number(options.wait)
  if (!(count > 0) || !(waitMs >= 0)) throw new CliError('--count and --wait take positive numbers')
  await withQueue(flags, async (queue) => {
    const consumer = await queue.consumer(topic, options.group)
    let seen = 0
    let stop = false
    // A signal stops the command at once, even while the server is down and a fetch waits for
    // it to come back: closing the queue ends what is waiting.
    const onSignal = () => {
      stop = true
      void queue.close()
    }
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
    // Acks are pipelined: a batch's acks travel while the next batch is fetched and printed,
    // so the rate is not one round trip per message. At most one batch is unacknowledged.
    let acking: Promise<unknown> = Promise.resolve()
    try {
      while (seen < count && !stop) {
        const messages = await consumer.fetch(Math.min(1000, count - seen), waitMs)
        await acking
        if (messages.length === 0 && options.count !== undefined) break
        if (messages.length > 0) {
          out(messages.map((m) => `${Buffer.from(m.payload).toString()}\n`).join(''))
        }
        if (options.ack) {
          acking = Promise.all(messages.map((m) => consumer.ack(m)))
          // Awaited before the next batch; a signal may end the loop first, and a rejection
          // no one awaits would end the process.
          acking.catch(() => {})
        }
        seen += messages.length
      }
      await acking
    } catch (error) {
      if (!stop) throw error
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
      await consumer.close()
    }
  })
}

/** `piper queue stats [TOPIC]`: depth and lag per group, segments and bytes. */
export async function queueStatsCommand(
  topic: string | undefined,
  options: { json?: boolean },
  flags: FlagValues,
  out: Out,
): Promise<void> {
  const stats = await withQueue(flags, (queue) => queue.stats(topic))
  if (options.json) {
    out(`${JSON.stringify(stats, null, 2)}\n`)
    return
  }
  out(formatStats(stats))
}

function formatStats(stats: TopicStats[]): string {
  const rows = [['TOPIC', 'GROUP', 'MESSAGES', 'LAG', 'PENDING', 'SEGMENTS', 'BYTES']]
  for (const t of stats) {
    const segments = t.segments === undefined ? '-' : String(t.segments)
    rows.push([t.topic, '', String(t.messages), '', '', segments, String(t.bytes)])
    for (const g of t.groups) rows.push(['', g.group, '', String(g.lag), String(g.pending), '', ''])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('')
}
