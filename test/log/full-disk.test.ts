import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Log } from '../../src/log/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const WRITER = fileURLToPath(new URL('./full-disk-writer.ts', import.meta.url))
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

/** Runs the writer with files limited to `kib` KiB; its confirmed and refused appends. */
function writeUnderLimit(dir: string, fsync: string, kib: number) {
  return new Promise<{ confirmed: Map<number, number>; refused: string[] }>((resolve, reject) => {
    const command = `ulimit -f ${kib} && exec "$0" "$@"`
    const child = spawn('bash', ['-c', command, process.execPath, WRITER, dir, fsync], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`writer exited with ${code}: ${out}`))
      const confirmed = new Map<number, number>()
      const refused: string[] = []
      for (const line of out.trim().split('\n')) {
        const [what, a, b] = line.split(' ')
        if (what === 'ok') confirmed.set(Number(a), Number(b))
        else refused.push(`${a} ${b}`)
      }
      resolve({ confirmed, refused })
    })
  })
}

for (const fsync of ['always', 'interval']) {
  it(`a write that fails (full disk) fences the log (fsync=${fsync}): nothing later is confirmed, a restart keeps every confirmed record`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'piper-log-full-'))
    dirs.push(dir)
    const { confirmed, refused } = await writeUnderLimit(dir, fsync, 64)
    assert.equal(confirmed.size, 40, `the records that fit are confirmed: ${[...confirmed]}`)
    assert.equal(refused[0], '40 E_LOG_FENCED', 'the record that does not fit is refused')
    assert.deepEqual(
      refused.slice(1).map((r) => r.split(' ')[1]),
      Array(10).fill('E_LOG_FENCED'),
      'every append after the failure is refused: no offset is handed out past a hole',
    )

    const log = await Log.open({
      dir,
      fsync: { kind: 'always' },
      logger: createLogger({ level: 'silent' }),
    })
    try {
      assert.equal(log.nextOffset, 40, 'the log reopens at the first unconfirmed offset')
      for (const [offset, n] of confirmed) {
        const [record] = await log.read(offset, 1)
        assert.equal(record?.headers.n, String(n), `offset ${offset} holds record ${n}`)
        assert.ok(Buffer.from(record!.payload).equals(Buffer.alloc(1000, `record ${n};`)))
      }
      assert.equal(
        await log.append(Buffer.from('after'), {}),
        40,
        'appends go on where they stopped',
      )
    } finally {
      await log.close()
    }
  })
}
