import { mkdir } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { assembleProcess } from '../../app/index.ts'
import { type FlagValues, loadConfig, localPath } from '../../config/index.ts'
import { lockDir } from '../../log/index.ts'
import { createLogger } from '../../telemetry/index.ts'
import { CliError } from '../errors.ts'
import { serveProcess } from './serve-process.ts'

/** Locks a SQLite database file for this server (`E_META_LOCKED` when another holds it). */
async function lockSqlite(path: string): Promise<() => Promise<void>> {
  const file = resolve(path)
  await mkdir(dirname(file), { recursive: true })
  return lockDir(
    dirname(file),
    (owner) =>
      new CliError(
        `the metadata database ${file} is in use by process ${owner} (another piper up): one server per SQLite database; share PostgreSQL instead`,
        { code: 'E_META_LOCKED' },
      ),
    `${basename(file)}.lock`,
  )
}

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

  // One `piper up` per data folder, whatever the queue: two would share one SQLite database
  // and blob store, each collecting garbage the other is still writing. Taken before anything
  // opens a file there (or starts a thread that would keep a refused process alive).
  const unlockData = await lockDir(
    config.data,
    (owner) =>
      new CliError(
        `the data folder ${config.data} is in use by process ${owner} (another piper up): stop it or use another --data`,
        { code: 'E_DATA_LOCKED' },
      ),
  )
  // A SQLite database named outside the data folder is locked too (beside it, as NAME.lock):
  // `piper keys` may still open it, but not a second server.
  const unlockMeta = config.meta.startsWith('sqlite:')
    ? await lockSqlite(localPath(config.meta)).catch(async (error: unknown) => {
        await unlockData()
        throw error
      })
    : undefined
  const dataLock = {
    name: 'data-lock',
    start: async () => {},
    close: async () => {
      await unlockMeta?.()
      await unlockData()
    },
  }
  const piper = await assembleProcess(config, new Set(['gateway', 'worker']), logger).catch(
    async (error: unknown) => {
      await dataLock.close()
      throw error
    },
  )
  await serveProcess('piper', config, logger, [dataLock, ...piper.components], piper.http, {
    data: config.data,
  })
}
