import { mkdir } from 'node:fs/promises'
import { type FlagValues, loadConfig } from '../../config/index.ts'
import { Gateway } from '../../gateway/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { CliError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'

/**
 * `piper up`: the whole of Piper in one process on the embedded defaults. Resolves once a
 * signal has stopped it and every component has closed.
 */
export async function upCommand(flags: FlagValues): Promise<void> {
  const { config, warnings } = loadConfig({ flags })
  const logger = createLogger({ level: config.logLevel })
  for (const warning of warnings) logger.warn(warning)

  try {
    await mkdir(config.data, { recursive: true })
  } catch (error) {
    throw new CliError(`cannot create data folder ${config.data}: ${(error as Error).message}`, {
      code: 'E_DATA_DIR',
      cause: error,
    })
  }

  const supervisor = new Supervisor(logger)
  const stopped = supervisor.stopOnSignals()
  const gateway = new Gateway({ host: config.host, port: config.port, logger })
  try {
    await supervisor.start([gateway])
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen on ${config.host}:${config.port}: ${code}`, {
        code: 'E_LISTEN',
        cause: error,
      })
    }
    throw error
  }
  logger.info({ data: config.data, url: gateway.url }, 'piper is up')
  await stopped
}
