import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { cleanEnv, runPiper } from '../helpers/cli.ts'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

test('piper --help lists the commands and exits 0', async () => {
  const { code, stdout } = await runPiper(['--help'])
  assert.equal(code, 0)
  assert.match(stdout, /Usage: piper/)
  for (const command of ['up', 'config', 'compress', 'decompress'])
    assert.match(stdout, new RegExp(`^  ${command} `, 'm'))
})

test('piper up --help lists every setting flag', async () => {
  const { code, stdout } = await runPiper(['up', '--help'])
  assert.equal(code, 0)
  for (const flag of [
    '--data',
    '--port',
    '--host',
    '--workers',
    '--queue',
    '--meta',
    '--blobs',
    '--config',
  ]) {
    assert.match(stdout, new RegExp(`${flag} `))
  }
})

test('piper --version prints the package version', async () => {
  const { code, stdout } = await runPiper(['--version'])
  assert.equal(code, 0)
  assert.equal(stdout.trim(), pkg.version)
})

test('an unknown command exits 2 with a message', async () => {
  const { code, stderr, stdout } = await runPiper(['nosuch'])
  assert.equal(code, 2)
  assert.match(stderr, /unknown command 'nosuch'/)
  assert.match(stderr, /piper --help/)
  assert.equal(stdout, '')
})

test('a near-miss command gets a suggestion', async () => {
  const { code, stderr } = await runPiper(['confgi'])
  assert.equal(code, 2)
  assert.match(stderr, /Did you mean config\?/)
})

test('an unknown flag exits 2 with a message', async () => {
  const { code, stderr } = await runPiper(['up', '--bogus'])
  assert.equal(code, 2)
  assert.match(stderr, /unknown option '--bogus'/)
})

test('no command prints help to stderr and exits 2', async () => {
  const { code, stderr } = await runPiper([])
  assert.equal(code, 2)
  assert.match(stderr, /Usage: piper/)
  assert.match(stderr, /missing command/)
})

test('a bad setting stops with exit 2 naming the setting', async () => {
  const { code, stderr } = await runPiper(['up', '--port', 'eighty'])
  assert.equal(code, 2)
  assert.equal(
    stderr,
    'piper: invalid port from --port="eighty": expected a whole number from 0 to 65535\n',
  )
})

test('a list command with a bad --state or --limit exits 2 before asking any server', async () => {
  // PIPER_URL names a port nothing listens on: a request would be exit 1, "cannot reach".
  const env = cleanEnv({ PIPER_URL: 'http://127.0.0.1:9' })
  for (const [args, message] of [
    [
      ['jobs', '--state', 'done'],
      /^piper: --state must be one of queued, running, succeeded, failed, cancelled, got "done"\n$/,
    ],
    [['runs', '--state', 'bogus'], /^piper: --state must be one of .*, got "bogus"\n$/],
    [['jobs', '--limit', '0'], /^piper: --limit must be a whole number from 1, got "0"\n$/],
    [['jobs', '--limit', '2.5'], /^piper: --limit must be a whole number from 1, got "2\.5"\n$/],
  ] as const) {
    const { code, stderr } = await runPiper([...args], { env })
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`)
    assert.match(stderr, message)
  }
})

test('a bad environment value stops start-up too', async () => {
  const { code, stderr } = await runPiper(['up'], { env: cleanEnv({ PIPER_LOG_LEVEL: 'chatty' }) })
  assert.equal(code, 2)
  assert.match(stderr, /invalid logLevel from PIPER_LOG_LEVEL="chatty": expected one of/)
})

test('piper config prints the effective configuration with secrets masked', async () => {
  const env = cleanEnv({
    PIPER_QUEUE_TOKEN: 'correct-horse-battery-staple',
    PIPER_META: 'postgres://piper:s3cret@127.0.0.1:5432/piper',
  })
  const { code, stdout } = await runPiper(['config', '--port', '9999', '--data', '/tmp/piper-x'], {
    env,
  })
  assert.equal(code, 0)
  assert.doesNotMatch(stdout, /correct-horse|s3cret/)
  const printed = JSON.parse(stdout) as {
    settings: Record<string, { value: unknown; source: string }>
  }
  assert.deepEqual(printed.settings.port, {
    value: 9999,
    source: 'flag',
    env: 'PIPER_PORT',
    flag: '--port',
  })
  assert.equal(printed.settings.queueToken?.value, '****')
  assert.equal(printed.settings.meta?.value, 'postgres://piper:****@127.0.0.1:5432/piper')
  assert.equal(printed.settings.queue?.value, 'embedded:/tmp/piper-x/queue')
})

test('bin/piper.js on an older Node re-runs on the project Node 24', async (t) => {
  const { existsSync } = await import('node:fs')
  const { spawnSync } = await import('node:child_process')
  const oldNode = '/usr/bin/node'
  const version = existsSync(oldNode)
    ? spawnSync(oldNode, ['--version'], { encoding: 'utf8' }).stdout.trim()
    : ''
  if (!/^v(1[89]|2[0-3])\./.test(version)) {
    t.skip(`no Node older than 24 at ${oldNode} to run it with`)
    return
  }
  const bin = new URL('../../bin/piper.js', import.meta.url).pathname
  const run = spawnSync(oldNode, [bin, '--version'], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout.trim(), pkg.version)
  const bad = spawnSync(oldNode, [bin, 'nosuch'], { encoding: 'utf8' })
  assert.equal(bad.status, 2)
})
