import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { QueueError } from './errors.ts'

/**
 * One process per queue folder: a second writer would interleave records. `LOCK` holds the
 * owner's pid, created exclusively; a lock whose process is gone (kill -9) is taken over.
 */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx')
      await file.writeFile(String(process.pid))
      await file.close()
      return () => rm(path, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
    if (owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new QueueError(
        'E_QUEUE_LOCKED',
        `the queue in ${dir} is in use by process ${owner} (piper up or piper queue serve): stop it or use another data folder; a served queue is reached with PIPER_QUEUE=piper://HOST:PORT`,
      )
    }
    await rm(path, { force: true })
  }
  throw new QueueError('E_QUEUE_LOCKED', `cannot lock ${path}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
