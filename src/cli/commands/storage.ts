import { type FlagValues, loadConfig } from '../../config/index.ts'
import { StorageNode } from '../../storage/index.ts'
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
