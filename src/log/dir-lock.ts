import { link, open, readFile, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
/**
 * One process per folder (a queue's: a second writer would interleave records; a data
 * folder's: two `piper up` would share one SQLite and blob store). `LOCK` holds the owner's
 * pid; a lock whose process is gone (kill -9) is taken over; one held by a live process is
 * refused with the error `held` makes of its pid.
 *
 * The lock file appears with its pid already in it (written to a file of our own, then
 * linked into place, which fails if `LOCK` exists), so no one ever reads an empty lock and
 * takes it for a dead one. Taking over a dead owner's lock is itself done under `LOCK.takeover`,
 * so two processes that both find it dead cannot both remove it and each end up holding "the"
 * lock: the second would remove the first's new one.
 */
export async function lockDir(
  dir: string,
  held: (owner: number) => Error,
  name = 'LOCK',
): Promise<() => Promise<void>> {
  const path = join(dir, name)
  const mine = join(dir, `${name}.${process.pid}`)
  await writeNew(mine, String(process.pid))
  try {
    for (let attempt = 0; attempt < 40; attempt++) {
      if (await linkOnce(mine, path)) return () => rm(path, { force: true })
      const owner = await ownerOf(path)
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw held(owner)
      // Another racer may be taking the dead owner's lock over: give it time to finish (on a
      // loaded machine three quick tries were not enough, and a racer gave up with an error).
      if (!(await takeOver(dir, name, owner))) await sleep(Math.min(50, 2 ** attempt))
    }
    throw new Error(`cannot lock ${path}: it keeps changing hands`)
  } finally {
    await unlink(mine).catch(() => {})
  }
}

/**
 * Removes `path` if it still names the dead `owner`, holding the takeover lock meanwhile; false
 * when another process holds the takeover lock (it is doing the same).
 */
async function takeOver(dir: string, name: string, owner: number | undefined): Promise<boolean> {
  const path = join(dir, name)
  const takeover = join(dir, `${name}.takeover`)
  const mine = join(dir, `${name}.takeover.${process.pid}`)
  await writeNew(mine, String(process.pid))
  try {
    if (!(await linkOnce(mine, takeover))) {
      // Another process is taking over; if it died doing so, its takeover lock goes too.
      const other = await ownerOf(takeover)
      if (other === undefined || !isAlive(other)) await rm(takeover, { force: true })
      return false
    }
    try {
      if ((await ownerOf(path)) === owner) await rm(path, { force: true })
      return true
    } finally {
      await rm(takeover, { force: true })
    }
  } finally {
    await unlink(mine).catch(() => {})
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  const file = await open(path, 'w')
  try {
    await file.writeFile(text)
  } finally {
    await file.close()
  }
}

/** Links `from` to `to`; false when `to` exists. */
async function linkOnce(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** The pid in a lock file; undefined when the file is gone or holds no pid. */
async function ownerOf(path: string): Promise<number | undefined> {
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  return pid > 0 ? pid : undefined
}

/** Whether process `pid` is running (signal 0 checks without sending one). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
