import { assembleProcess, type Role } from '../../app/index.ts'
import {
  type FlagValues,
  loadConfig,
  maskUrlPassword,
  type PiperConfig,
} from '../../config/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { CliError, EXIT_USAGE } from '../errors.ts'
import { serveProcess } from './serve-process.ts'

/**
 * `piper gateway` and `piper worker`: one role of a cluster, stateless, on stores every process
 * shares. Resolves once a signal has stopped it.
 */
export async function roleCommand(role: Role, flags: FlagValues): Promise<void> {
  const { config, warnings } = loadConfig({ flags })
  checkShared(role, config)
  const logger = createLogger({ level: config.logLevel }).child({ role })
  for (const warning of warnings) logger.warn(warning)
  const piper = await assembleProcess(config, new Set([role]), logger)
  await serveProcess(`piper ${role}`, config, logger, piper.components, piper.http)
}

/**
 * A role shares its state with the cluster's other processes: each store must be one they can
 * all reach. SQLite, the embedded queue and a local folder belong to one process: `piper up`.
 */
export function checkShared(role: Role, config: PiperConfig): void {
  const wrong = [
    ['PIPER_META', config.meta, ['postgres:', 'postgresql:'], 'postgres://…'],
    [
      'PIPER_QUEUE',
      config.queue,
      ['piper:', 'nats:'],
      'piper://HOST:PORT (piper queue serve) or nats://…',
    ],
    ['PIPER_BLOBS', config.blobs, ['s3:', 'nodes:'], 's3://… or nodes://…'],
  ].filter(([, url, schemes]) => !(schemes as string[]).some((s) => (url as string).startsWith(s)))
  if (config.staging)
    wrong.push(['PIPER_STAGING', config.staging, [], "unset (a local tier is one process's)"])
  if (wrong.length === 0) return
  const lines = wrong.map(
    ([name, url, , want]) => `${name} is ${maskUrlPassword(String(url))}; it must be ${want}`,
  )
  throw new CliError(
    `piper ${role} shares its state with the other processes of a cluster: ${lines.join('; ')}. For one process on local stores, run piper up`,
    { code: 'E_ROLE_STORES', exitCode: EXIT_USAGE },
  )
}
