import type { Component } from '../../app/index.ts'
import type { PiperConfig } from '../../config/index.ts'
import type { Gateway } from '../../gateway/index.ts'
import type { Logger } from '../../telemetry/index.ts'
import { CliError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'

/** Start-up failures a user can fix, by error code, as one line each. */
const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'])

/**
 * Starts a long-running command's components in order, logs `NAME is up` with the URL it serves,
 * and resolves once SIGTERM or SIGINT has drained and closed them all (`piper up`, `piper
 * gateway`, `piper worker`).
 */
export async function serveProcess(
  name: string,
  config: Pick<PiperConfig, 'host' | 'port'>,
  logger: Logger,
  components: readonly Component[],
  http: Gateway,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const supervisor = new Supervisor(logger)
  const stopped = supervisor.stopOnSignals()
  try {
    await supervisor.start(components)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (LISTEN_CODES.has(code)) {
      throw new CliError(`cannot listen on ${config.host}:${config.port}: ${code}`, {
        code: 'E_LISTEN',
        cause: error,
      })
    }
    if (code.startsWith('E_')) {
      throw new CliError((error as Error).message, { code, cause: error })
    }
    throw error
  }
  logger.info({ ...fields, url: http.url }, `${name} is up`)
  await stopped
}
