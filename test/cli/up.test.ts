import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cleanEnv, PIPER_BIN, runPiper } from '../helpers/cli.ts'

interface LogLine {
  msg: string
  url?: string
  [key: string]: unknown
}

/** Starts `piper up` on a free port and resolves once it logs that it is up. */
async function startPiper(args: string[]): Promise<{
  child: ChildProcessWithoutNullStreams
  url: string
  lines: LogLine[]
  stdout: () => string
}> {
  const child = spawn(process.execPath, [PIPER_BIN, 'up', '--port', '0', ...args], {
    env: cleanEnv(),
  })
  const lines: LogLine[] = []
  let buffered = ''
  let stderr = ''
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  // Log lines go to stderr, JSON when it is not a terminal; stdout stays for data.
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      buffered += chunk
      let newline = buffered.indexOf('\n')
      while (newline >= 0) {
        const text = buffered.slice(0, newline)
        const line = (text.startsWith('{') ? JSON.parse(text) : { msg: text }) as LogLine
        lines.push(line)
        if (line.msg === 'piper is up' && line.url) resolve(line.url)
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf('\n')
      }
    })
    child.once('exit', (code) => reject(new Error(`piper up exited with ${code}: ${stderr}`)))
  })
  return { child, url, lines, stdout: () => stdout }
}

test('piper up serves /healthz and stops cleanly on SIGTERM, logging to stderr only', async () => {
  const data = join(mkdtempSync(join(tmpdir(), 'piper-up-')), 'data')
  const { child, url, lines, stdout } = await startPiper(['--data', data])
  assert.ok(existsSync(data), 'the data folder is created')

  const health = await fetch(`${url}/healthz`)
  assert.equal(health.status, 200)
  assert.equal(health.headers.get('content-type'), 'application/json; charset=utf-8')
  assert.deepEqual(await health.json(), { status: 'ok' })

  const missing = await fetch(`${url}/no/such/route`)
  assert.equal(missing.status, 404)
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'E_NOT_FOUND')

  child.kill('SIGTERM')
  const [code, signal] = await once(child, 'exit')
  assert.equal(signal, null)
  assert.equal(code, 0)
  const messages = lines.map((l) => l.msg)
  const drain = messages.indexOf('gateway draining: readiness is now 503')
  assert.ok(drain > messages.indexOf('shutting down'), 'drains after the signal')
  assert.ok(messages.indexOf('gateway closed') > drain, 'closes after draining')
  assert.equal(messages.at(-1), 'stopped')
  assert.equal(stdout(), '', 'stdout is for data: no log line goes there')
})

test('piper up refuses a port that is taken, with a message', async () => {
  const data = mkdtempSync(join(tmpdir(), 'piper-up-'))
  const first = await startPiper(['--data', data])
  const port = new URL(first.url).port
  try {
    const { code, stderr } = await runPiper([
      'up',
      '--port',
      port,
      '--data',
      join(data, 'second'),
      '--log-level',
      'silent',
    ])
    assert.equal(code, 1)
    assert.match(stderr, new RegExp(`piper: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`))
  } finally {
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
  }
})

test('a second piper up on the same data folder is refused: one process owns the folder', async () => {
  const data = mkdtempSync(join(tmpdir(), 'piper-up-'))
  const first = await startPiper(['--data', data])
  try {
    const { code, stderr } = await runPiper(['up', '--port', '0', '--data', data])
    assert.equal(code, 1)
    assert.match(stderr, new RegExp(`data folder .* is in use by process ${first.child.pid}`))
    // Also when the second would use another queue: they would still share SQLite and blobs.
    const other = await runPiper([
      'up',
      '--port',
      '0',
      '--data',
      data,
      '--queue',
      'piper://127.0.0.1:9',
    ])
    assert.equal(other.code, 1)
    assert.match(other.stderr, /data folder .* is in use/)
  } finally {
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
  }
})

test('two piper up on one SQLite database are refused, even with other data folders; piper keys still works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'piper-up-'))
  const meta = `sqlite:${join(dir, 'shared', 'meta.db')}`
  const first = await startPiper(['--data', join(dir, 'a'), '--meta', meta])
  try {
    const second = await runPiper(['up', '--port', '0', '--data', join(dir, 'b'), '--meta', meta])
    assert.equal(second.code, 1)
    assert.match(
      second.stderr,
      new RegExp(`metadata database .* is in use by process ${first.child.pid}`),
    )
    const keys = await runPiper(['keys', 'create', 'alice', '--meta', meta])
    assert.equal(keys.code, 0, keys.stderr)
  } finally {
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
  }
})

test('piper up reports a data folder it cannot create', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'piper-up-'))
  const file = join(dir, 'a-file')
  writeFileSync(file, '')
  const { code, stderr } = await runPiper(['up', '--port', '0', '--data', join(file, 'data')])
  assert.equal(code, 1)
  assert.match(stderr, /piper: cannot create data folder .*a-file\/data/)
})

test('piper keys create --from-file: a mounted secret becomes the key, once, at every start; a bad one is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'piper-keys-'))
  const key = `pk_${'k'.repeat(40)}`
  writeFileSync(join(dir, 'admin.key'), `${key}\n`)
  const create = (client: string, file = 'admin.key') =>
    runPiper(['keys', 'create', client, '--from-file', join(dir, file), '--data', dir])
  for (let i = 0; i < 2; i++) {
    const run = await create('ops')
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stdout, '', 'the key is not printed')
  }
  const listed = await runPiper(['keys', 'ls', '--data', dir])
  assert.equal(listed.stdout.trim().split('\n').length, 1, 'kept once')
  const other = await create('eve')
  assert.equal(other.code, 1)
  assert.match(other.stderr, /another client's/)
  writeFileSync(join(dir, 'short.key'), 'pk_short\n')
  assert.equal((await create('ops', 'short.key')).code, 2)
  const piper = await startPiper(['--data', dir, '--host', '0.0.0.0'])
  try {
    const url = piper.url.replace('0.0.0.0', '127.0.0.1')
    const res = await fetch(`${url}/v1/files`, { headers: { authorization: `Bearer ${key}` } })
    assert.equal(res.status, 200)
  } finally {
    piper.child.kill('SIGTERM')
    await once(piper.child, 'exit')
  }
})
