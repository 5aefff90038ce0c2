/**
 * `npm run bench -- backup`: whole processes, as users run them, on this one disk.
 *
 * `piper up` (fs) is filled with BENCH_BACKUP_BYTES (1 GiB) of random files of 16 MiB through
 * curl; then, BENCH_ROUNDS (3) times, alternating:
 * - `piper backup create --to file:DIR` into an empty folder (a full backup, unthrottled) while
 *   `piper up` serves, against the floor: `cp -r` of the data folder and `sync`;
 * - after one more 16 MiB file, the next backup into the same folder (incremental: it lists the
 *   target and copies only new chunks), with the bytes it copied;
 * - `piper backup restore` of the full backup into a new data folder (every chunk read, hashed and
 *   written, the metadata loaded), against `cp -r` of the copied folder and `sync`.
 * Medians of wall times; ratios are Piper's speed ÷ the peer's (below 1: slower).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PIPER_BIN } from '../test/helpers/cli.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { mbPerSecond, median, printTable } from './lib/measure.ts'
import { timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_BACKUP_BYTES ?? 1 << 30)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const FILE = 16 << 20
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-backup-'))
const data = join(dir, 'data')
const piperCli = (args: string[]) =>
  timed(process.execPath, [PIPER_BIN, ...args, '--data', data, '--log-level', 'warn'])
const copyAndSync = (from: string, to: string) =>
  timed('sh', ['-c', `cp -r "${from}" "${to}" && sync`])

const piper = await startPiper([], {}, data)
try {
  const input = join(dir, 'file.bin')
  let files = 0
  const putOne = async () => {
    await writeFile(input, randomBytes(FILE))
    timed('curl', [
      '-sSf',
      '-o',
      '/dev/null',
      '-T',
      input,
      `${piper.url}/v1/files/bench/${files++}.bin`,
    ])
  }
  while (files * FILE < SIZE) await putOne()
  spawnSync('sync')
  console.log(
    `\n## backup and restore of ${(files * FILE) / 2 ** 20} MiB in ${files} files (fs, one disk)`,
  )

  const walls = {
    full: [] as number[],
    cp: [] as number[],
    incremental: [] as number[],
    restore: [] as number[],
    cpBack: [] as number[],
  }
  let copied = 0
  const sizes: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    sizes.push(files * FILE)
    const target = join(dir, `backups-${round}`)
    const copy = join(dir, `cp-${round}`)
    const run = () =>
      walls.full.push(
        piperCli(['backup', 'create', '--to', `file:${target}`, '--backup-bytes-per-second', '0']),
      )
    const peer = () => walls.cp.push(copyAndSync(data, copy))
    if (round % 2 === 0) {
      run()
      peer()
    } else {
      peer()
      run()
    }
    await putOne()
    const before = performance.now()
    const out = spawnSync(
      process.execPath,
      [
        PIPER_BIN,
        'backup',
        'create',
        '--to',
        `file:${target}`,
        '--backup-bytes-per-second',
        '0',
        '--data',
        data,
      ],
      { encoding: 'utf8' },
    )
    walls.incremental.push(performance.now() - before)
    copied = (JSON.parse(out.stdout) as { chunks: { copiedBytes: number } }).chunks.copiedBytes
    const restoreInto = join(dir, `restored-${round}`)
    const back = () =>
      walls.restore.push(
        timed(process.execPath, [
          PIPER_BIN,
          'backup',
          'restore',
          'latest',
          '--from',
          `file:${target}`,
          '--data',
          restoreInto,
          '--log-level',
          'warn',
        ]),
      )
    const peerBack = () => walls.cpBack.push(copyAndSync(copy, join(dir, `cp-back-${round}`)))
    if (round % 2 === 0) {
      back()
      peerBack()
    } else {
      peerBack()
      back()
    }
    await rm(restoreInto, { recursive: true, force: true })
    await rm(join(dir, `cp-back-${round}`), { recursive: true, force: true })
    await rm(copy, { recursive: true, force: true })
    await rm(target, { recursive: true, force: true })
  }
  // Each round's incremental backup added a file: the median size is the middle round's.
  const bytes = median(sizes)
  const full = median(walls.full)
  const cp = median(walls.cp)
  const restore = median(walls.restore)
  const cpBack = median(walls.cpBack)
  printTable([
    ['', 'wall s', 'MB/s', 'speed ÷ cp -r && sync'],
    ['backup create (full)', full / 1000, mbPerSecond(bytes, full), cp / full],
    ['cp -r data && sync', cp / 1000, mbPerSecond(bytes, cp), 1],
    [
      'backup create (+16 MiB)',
      median(walls.incremental) / 1000,
      `${(copied / 2 ** 20).toFixed(0)} MiB copied`,
      '-',
    ],
    ['backup restore', restore / 1000, mbPerSecond(bytes, restore), cpBack / restore],
    ['cp -r copy && sync', cpBack / 1000, mbPerSecond(bytes, cpBack), 1],
  ])
  console.log(
    `rounds: ${ROUNDS}; walls (ms): ${JSON.stringify(walls, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
  )
} finally {
  await piper.stop()
  await rm(dir, { recursive: true, force: true })
}
