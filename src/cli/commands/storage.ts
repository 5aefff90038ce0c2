import { blobStoreFor, type FlagValues, loadConfig, metaStoreFor } from '../../config/index.ts'
import { type NodesBlobStore, registerNode, StorageNode } from '../../storage/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { abortOnSignals } from '../abort-on-signals.ts'
import { CliError, usageError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'
import { withMeta } from './with-meta.ts'

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
    throw usageError(`--port: expected a TCP port, got "${options.port}"`)
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
    throw usageError(
      `piper storage repair works on nodes:// blob stores; PIPER_BLOBS is ${config.blobs.split(':')[0]}:`,
    )
  }
  const meta = config.blobs.startsWith('nodes://registry')
    ? await metaStoreFor(config.meta)
    : undefined
  await meta?.start()
  const blobs = (await blobStoreFor(config.blobs, {
    storageToken: config.storageToken,
    logger,
    registry: meta,
  })) as NodesBlobStore
  await blobs.start()
  const stop = abortOnSignals()
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
    stop.dispose()
    await blobs.close()
    await meta?.close()
  }
}

/** `piper storage ls`: the registry's nodes: id, state, address, used / capacity, last seen. */
export async function storageListCommand(flags: FlagValues, out: (text: string) => void) {
  const nodes = await withMeta(flags, (meta) => meta.listStorageNodes())
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)}G`
  for (const n of nodes) {
    out(
      `${n.id}\t${n.state}\t${n.address}\t${gib(n.used)}/${gib(n.capacity)}\t${new Date(n.lastSeen).toISOString()}\n`,
    )
  }
}

/** `piper storage add ADDRESS`: registers a running node (asked for its id and capacity). */
export async function storageAddCommand(
  address: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const { config } = loadConfig({ flags })
  const saved = await withMeta(flags, async (meta) => {
    try {
      return await registerNode(meta, address, config.storageToken)
    } catch (error) {
      throw new CliError(`no storage node answers at ${address}: ${(error as Error).message}`, {
        cause: error,
      })
    }
  })
  out(`${JSON.stringify(saved)}\n`)
}

/** `piper storage drain ID` / `remove ID`: a node's state, by its id. */
export async function storageStateCommand(
  id: string,
  state: 'draining' | 'removed',
  flags: FlagValues,
) {
  const changed = await withMeta(flags, (meta) => meta.setStorageNodeState(id, state))
  if (!changed) throw new CliError(`no storage node ${id} (see piper storage ls)`)
}
