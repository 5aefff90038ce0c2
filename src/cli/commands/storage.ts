import { blobStoreFor, type FlagValues, loadConfig } from '../../config/index.ts'
import { type NodesBlobStore, StorageNode } from '../../storage/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { CliError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'

/**
 * `piper storage serve`: a storage node holding blobs in `--data` (its own folder), for
 * `PIPER_BLOBS=nodes://…`. Resolves once a signal has stopped it.
 */
export async function storageServeCommand(
  options: { host: string; port: string },
  flags: FlagValues,
): Promise<void> {
  const { config } = loadConfig({ flags })
  const logger = createLogger({ level: config.logLevel })
  const port = Number(options.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port: expected a TCP port, got "${options.port}"`, {
      code: 'E_USAGE',
      exitCode: 2,
    })
  }
  const node = new StorageNode({
    data: config.data,
    host: options.host,
    port,
    token: config.storageToken,
    capacity: config.storageCapacity,
    logger,
  })
  const supervisor = new Supervisor(logger)
  const stopped = supervisor.stopOnSignals()
  try {
    await supervisor.start([node])
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(code)) {
      throw new CliError(`cannot listen on ${options.host}:${port}: ${code}`, {
        code: 'E_LISTEN',
        cause: error,
      })
    }
    throw new CliError((error as Error).message, { code: 'E_STORAGE_NODE', cause: error })
  }
  logger.info({ url: node.url, id: node.id, data: config.data }, 'piper storage node is serving')
  await stopped
}

/**
 * `piper storage repair [--verify]`: brings every blob of the `nodes://` store in PIPER_BLOBS to
 * where placement wants it now — copies rebuilt on nodes that lost them (heal), moved to nodes
 * that joined (rebalance), damaged ones rewritten (`--verify` reads every copy back: a scrub) —
 * and prints what it did as JSON. Progress on stderr; exit 1 when some blob could not be placed.
 */
export async function storageRepairCommand(
  options: { verify: boolean },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const { config } = loadConfig({ flags })
  const logger = createLogger({ level: config.logLevel })
  if (!config.blobs.startsWith('nodes:')) {
    throw new CliError(
      `piper storage repair works on nodes:// blob stores; PIPER_BLOBS is ${config.blobs.split(':')[0]}:`,
      {
        code: 'E_USAGE',
        exitCode: 2,
      },
    )
  }
  const blobs = (await blobStoreFor(config.blobs, {
    storageToken: config.storageToken,
    logger,
  })) as NodesBlobStore
  await blobs.start()
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    let shown = 0
    const totals = await blobs.repairAll({
      verify: options.verify,
      signal: stop.signal,
      onProgress: (done, sofar) => {
        // A line a second at most: progress, not a log of every blob.
        if (Date.now() - shown < 1000) return
        shown = Date.now()
        process.stderr.write(
          `repair: ${done} blobs, ${sofar.copied} copied, ${sofar.repaired} repaired, ${sofar.removed} removed\n`,
        )
      },
    })
    out(`${JSON.stringify({ ...totals, stopped: stop.signal.aborted })}\n`)
    if (totals.failed > 0) {
      throw new CliError(`${totals.failed} blobs could not be placed (see the log)`, {
        code: 'E_REPAIR',
      })
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await blobs.close()
  }
}
