import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Log } from '../../src/log/index.ts'
import { crashLogOptions, crashPayload } from './crash-options.ts'

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

/** Runs the writer until SIGKILL `ms` after its first confirmation; the offsets it confirmed. */
function runAndKill(dir: string, ms: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      // Counted from the first confirmation, not from the spawn: on a loaded machine the
      // writer may take longer than `ms` just to start.
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms)
    })
    child.once('error', reject)
    child.once('exit', (_code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${signal})`))
      // A line cut by the kill was never fully written: it is not a confirmation.
      resolve(out.split('\n').slice(0, -1).map(Number))
    })
  })
}

// More rounds: scripts/soak-log.sh runs this file in a loop.
it('kill -9 of a producer with fsync=always loses no confirmed record and leaves no half record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-log-crash-'))
  dirs.push(dir)
  const confirmed = new Set<number>()
  for (let round = 0; round < 4; round++) {
    for (const offset of await runAndKill(dir, 300 + Math.floor(Math.random() * 500))) {
      confirmed.add(offset)
    }
    const log = await Log.open(crashLogOptions(dir, 0))
    const present = new Set<number>()
    for (let offset = 0; offset < log.nextOffset; ) {
      const records = await log.read(offset, 500)
      for (const r of records) {
        present.add(r.offset)
        const n = r.offset
        assert.equal(r.headers.n, String(n))
        assert.equal(Buffer.from(r.payload).toString(), crashPayload(n))
      }
      offset = records[records.length - 1]!.offset + 1
    }
    assert.equal(present.size, log.nextOffset, 'offsets are dense from 0')
    for (const offset of confirmed)
      assert.ok(present.has(offset), `confirmed offset ${offset} lost`)
    assert.ok(confirmed.size > 0, 'the writer confirmed something')
    await log.close()
  }
})
