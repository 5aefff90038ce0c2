import assert from 'node:assert/strict'
import { constants } from 'node:fs'
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  truncate,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { Log, type LogOptions, parseFsyncPolicy } from '../../src/log/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-log-'))
  dirs.push(dir)
  return dir
}

/** Opens a log, collecting what it logs at warn level and above. */
async function openLog(dir: string, options: Partial<LogOptions> = {}) {
  const warnings: string[] = []
  const logger = createLogger({
    level: 'warn',
    destination: { write: (line: string) => warnings.push(line) },
  })
  const log = await Log.open({
    dir,
    fsync: { kind: 'always' },
    logger,
    snapshotEveryMs: 0,
    ...options,
  })
  return { log, warnings }
}

const text = (n: number) => Buffer.from(`message ${n}`)

/** Writes `count` messages to a new log in `dir` and closes it. */
async function writeClosed(dir: string, count: number, segmentBytes?: number): Promise<void> {
  const { log } = await openLog(dir, segmentBytes ? { segmentBytes } : {})
  for (let i = 0; i < count; i++) await log.append(text(i))
  await log.close()
}

async function readAll(log: Log): Promise<string[]> {
  const out: string[] = []
  for (let offset = log.startOffset; offset < log.nextOffset; ) {
    const records = await log.read(offset, 1000)
    if (records.length === 0) break
    for (const r of records) out.push(Buffer.from(r.payload).toString())
    offset = records[records.length - 1]!.offset + 1
  }
  return out
}

for (const [tail, tailCacheBytes] of [
  ['from the tail cache', undefined],
  ['from the file', 0],
  ['from both', 100],
] as const) {
  it(`appends concurrently with offsets in call order, reads by offset, across segments (${tail})`, async () => {
    await appendsAndReads(tailCacheBytes)
  })
}

async function appendsAndReads(tailCacheBytes: number | undefined): Promise<void> {
  const { log } = await openLog(await freshDir(), { segmentBytes: 1024, tailCacheBytes })
  const offsets = await Promise.all(
    Array.from({ length: 300 }, (_, i) => log.append(text(i), { headers: { i: String(i) } })),
  )
  assert.deepEqual(
    offsets,
    Array.from({ length: 300 }, (_, i) => i),
  )
  assert.ok(log.segmentCount > 5)
  const [r] = await log.read(123, 1)
  assert.equal(Buffer.from(r!.payload).toString(), 'message 123')
  assert.deepEqual(r!.headers, { i: '123' })
  assert.deepEqual(
    await readAll(log),
    Array.from({ length: 300 }, (_, i) => `message ${i}`),
  )
  assert.deepEqual(await log.read(300), [])
  await log.close()
  await log.close()
  await assert.rejects(log.append(text(1)), { code: 'E_LOG_CLOSED' })
}

it('a durable: false append resolves when written and is committed by the next durable one', async () => {
  const dir = await freshDir()
  const { log } = await openLog(dir)
  assert.equal(await log.append(text(0)), 0)
  assert.equal(await log.append(text(1), { durable: false }), 1)
  // Not fsynced yet, so readers that stop at the committed offset do not see it.
  assert.equal(log.committedOffset, 1)
  assert.equal(await log.append(text(2)), 2)
  assert.equal(log.committedOffset, 3)
  assert.equal(await log.append(text(3), { durable: false }), 3)
  await log.close()
  const reopened = await openLog(dir)
  assert.deepEqual(await readAll(reopened.log), [
    'message 0',
    'message 1',
    'message 2',
    'message 3',
  ])
  await reopened.log.close()
})

it('reopens where it left off, with and without the snapshot', async () => {
  const dir = await freshDir()
  const first = await openLog(dir, { segmentBytes: 4096 })
  for (let i = 0; i < 200; i++) await first.log.append(text(i))
  await first.log.close()
  for (const dropSnapshot of [false, true]) {
    if (dropSnapshot) await rm(join(dir, 'snapshot'), { force: true })
    const again = await openLog(dir, { segmentBytes: 4096 })
    assert.equal(again.log.nextOffset, 200)
    assert.deepEqual(
      await readAll(again.log),
      Array.from({ length: 200 }, (_, i) => `message ${i}`),
    )
    assert.equal(await again.log.append(text(999)), 200)
    await again.log.close()
    await truncateLastRecord(dir)
  }
})

/** Removes the record appended by the loop above, so each round starts equal. */
async function truncateLastRecord(dir: string): Promise<void> {
  const { log } = await openLog(dir, { segmentBytes: 4096 })
  const last = (await log.read(log.nextOffset - 1))[0]!
  await log.close()
  const active = (await readdir(dir))
    .filter((n) => n.endsWith('.log'))
    .sort()
    .pop()!
  const handle = await open(join(dir, active), 'r+')
  const size = (await handle.stat()).size
  await handle.truncate(size - (28 + last.payload.length))
  await handle.close()
  await rm(join(dir, 'snapshot'))
}

it('replays only what follows the snapshot, and a tail appended after it', async () => {
  const dir = await freshDir()
  const { log } = await openLog(dir)
  for (let i = 0; i < 50; i++) await log.append(text(i))
  await log.snapshot()
  for (let i = 50; i < 60; i++) await log.append(text(i))
  // No close: the process "dies" here, with the snapshot 10 records behind.
  const again = await openLog(dir)
  assert.equal(again.log.nextOffset, 60)
  assert.deepEqual((await readAll(again.log)).slice(-2), ['message 58', 'message 59'])
  await again.log.close()
  await log.close()
})

it('cuts a torn tail with a warning that counts the bytes, and keeps every whole record', async () => {
  const dir = await freshDir()
  await writeClosed(dir, 10)
  await rm(join(dir, 'snapshot'))
  const segment = join(dir, `${'0'.repeat(20)}.log`)
  await appendFile(segment, Buffer.from([40, 0, 0, 0, 1, 2, 3]))
  const again = await openLog(dir)
  assert.equal(again.log.nextOffset, 10)
  assert.ok(
    again.warnings.some((w) => /torn tail: cut 7 bytes/.test(w)),
    again.warnings.join(),
  )
  assert.equal(await again.log.append(text(10)), 10)
  assert.deepEqual((await readAll(again.log)).length, 11)
  await again.log.close()
})

it('refuses to start on corruption in the middle of a segment, naming the file and byte', async () => {
  const dir = await freshDir()
  await writeClosed(dir, 10)
  await rm(join(dir, 'snapshot'))
  const segment = join(dir, `${'0'.repeat(20)}.log`)
  const handle = await open(segment, 'r+')
  await handle.write(Buffer.from('XX'), 0, 2, 30) // inside the second record
  await handle.close()
  await assert.rejects(openLog(dir), {
    code: 'E_LOG_CORRUPT',
    message: /0{20}\.log: CRC mismatch at byte \d+ .*with data after it/,
  })
})

it('rebuilds a corrupt or missing segment index, and ignores a corrupt snapshot', async () => {
  const dir = await freshDir()
  await writeClosed(dir, 100, 1024)
  const indexes = (await readdir(dir)).filter((n) => n.endsWith('.index')).sort()
  await writeFile(join(dir, indexes[0]!), 'garbage')
  await rm(join(dir, indexes[1]!))
  await truncate(join(dir, 'snapshot'), 10)
  const again = await openLog(dir, { segmentBytes: 1024 })
  assert.deepEqual(
    await readAll(again.log),
    Array.from({ length: 100 }, (_, i) => `message ${i}`),
  )
  assert.ok(again.warnings.some((w) => /index missing or corrupt: rebuilding/.test(w)))
  await again.log.close()
})

it('a missing segment in the middle stops start-up', async () => {
  const dir = await freshDir()
  await writeClosed(dir, 100, 1024)
  const logs = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()
  await rm(join(dir, logs[1]!))
  await assert.rejects(openLog(dir, { segmentBytes: 1024 }), {
    code: 'E_LOG_CORRUPT',
    message: /a segment is missing/,
  })
})

it('deletes whole sealed segments below an offset, and by size', async () => {
  const { log } = await openLog(await freshDir(), { segmentBytes: 1024 })
  for (let i = 0; i < 200; i++) await log.append(text(i))
  const segments = log.segmentCount
  assert.ok((await log.deleteBefore(100)) > 0)
  assert.ok(log.startOffset <= 100 && log.startOffset > 0)
  assert.equal((await log.read(0, 1))[0]!.offset, log.startOffset)
  await log.applyRetention({ maxBytes: 2048 })
  assert.ok(log.bytes <= 2048 + 1024 && log.segmentCount < segments)
  assert.equal(log.nextOffset, 200)
  await log.close()
})

it('fsync policies parse, and bad ones say what is allowed', () => {
  assert.deepEqual(parseFsyncPolicy('always'), { kind: 'always' })
  assert.deepEqual(parseFsyncPolicy('interval:50'), { kind: 'interval', ms: 50 })
  assert.throws(() => parseFsyncPolicy('sometimes'), {
    code: 'E_LOG_CONFIG',
    message: /interval:<ms>/,
  })
})

it('sizes out of range are configuration errors', async () => {
  const dir = await freshDir()
  await assert.rejects(openLog(dir, { segmentBytes: 10 }), { code: 'E_LOG_CONFIG' })
  await assert.rejects(openLog(dir, { tailCacheBytes: -1 }), {
    code: 'E_LOG_CONFIG',
    message: /tailCacheBytes/,
  })
  await assert.rejects(openLog(dir, { tailCacheBytes: Number.NaN }), { code: 'E_LOG_CONFIG' })
})

/** The open-file flags (octal, from /proc) of this process's descriptors of `path`. */
async function openFlags(path: string): Promise<number[]> {
  const flags: number[] = []
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '')
    if (target !== path) continue
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '')
    const match = /^flags:\s+([0-7]+)/m.exec(info)
    if (match) flags.push(Number.parseInt(match[1]!, 8))
  }
  return flags
}

it('under fsync=always, writes durable appends through an O_DSYNC descriptor, and not under never', async (t) => {
  if (process.platform !== 'linux') return t.skip('reads /proc (Linux only)')
  for (const kind of ['always', 'never'] as const) {
    const dir = await freshDir()
    const { log } = await openLog(dir, { fsync: { kind } })
    await log.append(text(0))
    const segment = join(dir, (await readdir(dir)).find((name) => name.endsWith('.log'))!)
    const dsync = (await openFlags(segment)).some((f) => (f & constants.O_DSYNC) !== 0)
    assert.equal(dsync, kind === 'always', `${kind}: O_DSYNC descriptor open`)
    await log.close()
    assert.deepEqual(await openFlags(segment), [], `${kind}: closed with the log`)
  }
})

it('a durable append after non-durable ones writes them again with it, byte for byte', async () => {
  for (const [label, filler] of [
    ['a few small records', 10],
    // Over the 64 KiB the segment keeps for writing again: the durable append falls back to fdatasync.
    ['more than it keeps', 100],
  ] as const) {
    const dir = await freshDir()
    const { log } = await openLog(dir)
    const expected: string[] = []
    for (let round = 0; round < 3; round++) {
      const quiet = Array.from({ length: filler }, (_, i) => {
        const body = `r${round} quiet ${i} ${'x'.repeat(1000)}`
        expected.push(body)
        return log.append(Buffer.from(body), { durable: false })
      })
      await Promise.all(quiet)
      expected.push(`r${round} durable`)
      await log.append(Buffer.from(`r${round} durable`))
    }
    await log.close()
    const { log: reopened, warnings } = await openLog(dir)
    assert.deepEqual(await readAll(reopened), expected, label)
    assert.deepEqual(warnings, [], label)
    await reopened.close()
  }
})
