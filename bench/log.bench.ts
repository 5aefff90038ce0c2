/**
 * `npm run bench -- log`: the log under the queue. 1 KiB records with fsync before every
 * confirm, awaited one at a time and 256 at a time (group commit), next to this disk's own
 * 1 KiB append + fdatasync rate measured in the same run; and start-up time of a log with and
 * without its snapshot.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Log } from '../src/log/index.ts'
import { createLogger } from '../src/telemetry/index.ts'
import { printTable } from './lib/measure.ts'

const dir = await mkdtemp(join(tmpdir(), 'piper-bench-log-'))
const logger = createLogger({ level: 'silent' })
const payload = randomBytes(1024)
const SECONDS = 2

async function rate(fn: () => Promise<number>): Promise<number> {
  const start = performance.now()
  let n = 0
  while (performance.now() - start < SECONDS * 1000) n += await fn()
  return n / ((performance.now() - start) / 1000)
}

try {
  const raw = await open(join(dir, 'raw'), 'w')
  const disk = await rate(async () => {
    await raw.write(payload)
    await raw.datasync()
    return 1
  })
  await raw.close()

  const log = await Log.open({
    dir: join(dir, 'log'),
    fsync: { kind: 'always' },
    logger,
    snapshotEveryMs: 0,
  })
  const single = await rate(async () => {
    await log.append(payload)
    return 1
  })
  const batched = await rate(async () => {
    await Promise.all(Array.from({ length: 256 }, () => log.append(payload)))
    return 256
  })
  const nonSynced = await Log.open({
    dir: join(dir, 'never'),
    fsync: { kind: 'never' },
    logger,
    snapshotEveryMs: 0,
  })
  const never = await rate(async () => {
    await Promise.all(Array.from({ length: 256 }, () => nonSynced.append(payload)))
    return 256
  })
  await nonSynced.close()
  const records = log.nextOffset
  await log.close()

  const startWith = performance.now()
  await (
    await Log.open({ dir: join(dir, 'log'), fsync: { kind: 'always' }, logger, snapshotEveryMs: 0 })
  ).close()
  const withSnapshot = performance.now() - startWith
  await rm(join(dir, 'log', 'snapshot'))
  const startWithout = performance.now()
  const reopened = await Log.open({
    dir: join(dir, 'log'),
    fsync: { kind: 'always' },
    logger,
    snapshotEveryMs: 0,
  })
  const withoutSnapshot = performance.now() - startWithout
  await reopened.close()

  printTable([
    ['1 KiB records', 'per second', 'vs disk fdatasync rate'],
    ['disk: write + fdatasync, one at a time', disk, 1],
    ['log append, fsync=always, awaited one at a time', single, single / disk],
    ['log append, fsync=always, 256 in flight', batched, batched / disk],
    ['log append, fsync=never, 256 in flight', never, never / disk],
  ])
  console.log(
    `start-up with ${records} records: ${withSnapshot.toFixed(0)} ms with the snapshot, ${withoutSnapshot.toFixed(0)} ms without`,
  )
  console.log('target: one-at-a-time awaited append within 20% of the disk fsync rate (≥ 0.80)')
} finally {
  await rm(dir, { recursive: true, force: true })
}
