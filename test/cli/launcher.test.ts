import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { cleanEnv, YOUNG_GENERATION } from '../helpers/cli.ts'

/** The launcher users run (its shebang passes the flag, as here), not bin/piper.ts. */
const LAUNCHER = fileURLToPath(new URL('../../bin/piper.js', import.meta.url))

/** Starts the launcher and resolves with the first log line carrying `msg`. */
async function launch(args: string[], msg: string) {
  const data = mkdtempSync(join(tmpdir(), 'piper-launcher-'))
  const child = spawn(process.execPath, [YOUNG_GENERATION, LAUNCHER, ...args, data], {
    env: cleanEnv(),
  })
  let stderr = ''
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = ''
    // Log lines are JSON on stderr.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      buffered += chunk
      for (const text of buffered.split('\n').slice(0, -1)) {
        if (!text.startsWith('{')) continue
        const parsed = JSON.parse(text) as Record<string, unknown>
        if (parsed.msg === msg) resolve(parsed)
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)))
  })
  const stop = async () => {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code] = await exited
    rmSync(data, { recursive: true, force: true })
    return code as number | null
  }
  return { child, line, stop }
}

/** The V8 flags the process `pid` runs with now, where /proc tells. */
function flagsOf(pid: number): string[] | undefined {
  const path = `/proc/${pid}/cmdline`
  if (!existsSync(path)) return undefined
  return readFileSync(path, 'utf8').split('\0')
}

test('piper queue serve drops the young generation flag in place (same pid) and serves', async (t) => {
  const served = await launch(
    ['queue', 'serve', '--port', '0', '--log-level', 'info', '--data'],
    'piper queue is serving',
  )
  try {
    const flags = flagsOf(served.child.pid!)
    if (flags) {
      assert.ok(flags.includes('serve'), flags.join(' '))
      assert.ok(!flags.includes(YOUNG_GENERATION), flags.join(' '))
    } else {
      t.diagnostic('no /proc here: the flags were not checked')
    }
    const queue = new RemoteQueue({
      url: `piper://127.0.0.1:${served.line.port}`,
      logger: createLogger({ level: 'silent' }),
    })
    await queue.start()
    assert.equal(await queue.publish('launcher.check', Buffer.from('hello')), 0)
    await queue.close()
  } finally {
    assert.equal(await served.stop(), 0)
  }
})

test('piper up keeps the young generation flag its shebang passes', async (t) => {
  const up = await launch(['up', '--port', '0', '--log-level', 'info', '--data'], 'piper is up')
  try {
    const flags = flagsOf(up.child.pid!)
    if (flags) assert.ok(flags.includes(YOUNG_GENERATION), flags.join(' '))
    else t.diagnostic('no /proc here: the flags were not checked')
  } finally {
    assert.equal(await up.stop(), 0)
  }
})

test('the shebang and `npm start` pass the young generation flag the tests and benches use', () => {
  const shebang = readFileSync(LAUNCHER, 'utf8').split('\n')[0]!
  assert.ok(shebang.split(' ').includes(YOUNG_GENERATION), shebang)
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  assert.ok((pkg.scripts.start as string).split(' ').includes(YOUNG_GENERATION), pkg.scripts.start)
})
