import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, loadConfig, printableConfig } from '../../src/config/index.ts'

const cwd = '/srv/piper'

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'piper-config-'))
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
    assert.equal(error.code, 'E_CONFIG')
    return error
  }
  assert.fail('expected a ConfigError')
}

describe('loadConfig defaults', () => {
  test('embedded defaults live in ./piper-data, resolved against cwd', () => {
    const { config, sources } = loadConfig({ env: {}, cwd })
    assert.equal(config.data, '/srv/piper/piper-data')
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.port, 8080)
    assert.equal(config.logLevel, 'info')
    assert.equal(config.queue, 'embedded:/srv/piper/piper-data/queue')
    assert.equal(config.meta, 'sqlite:/srv/piper/piper-data/meta.db')
    assert.equal(config.blobs, 'file:/srv/piper/piper-data/blobs')
    assert.ok(config.workers >= 1)
    assert.equal(config.queueToken, undefined)
    assert.equal(sources.port, 'default')
  })

  test('adapter defaults follow a moved data folder', () => {
    const { config } = loadConfig({ flags: { data: 'elsewhere' }, env: {}, cwd })
    assert.equal(config.queue, 'embedded:/srv/piper/elsewhere/queue')
    assert.equal(config.meta, 'sqlite:/srv/piper/elsewhere/meta.db')
  })
})

describe('loadConfig precedence', () => {
  test('flag beats environment beats file beats default', () => {
    const file = tempFile('piper.json', JSON.stringify({ port: 7000, host: '0.0.0.0', workers: 3 }))
    const { config, sources } = loadConfig({
      flags: { config: file, port: '9000' },
      env: { PIPER_PORT: '8000', PIPER_HOST: '::1' },
      cwd,
    })
    assert.equal(config.port, 9000)
    assert.equal(sources.port, 'flag')
    assert.equal(config.host, '::1')
    assert.equal(sources.host, 'env')
    assert.equal(config.workers, 3)
    assert.equal(sources.workers, 'file')
  })

  test('PIPER_CONFIG names the file when --config is absent', () => {
    const file = tempFile('p.json', '{"logLevel": "debug"}')
    const loaded = loadConfig({ env: { PIPER_CONFIG: file }, cwd })
    assert.equal(loaded.config.logLevel, 'debug')
    assert.equal(loaded.file, file)
  })

  test('accepts network adapter URLs', () => {
    const { config } = loadConfig({
      env: {
        PIPER_QUEUE: 'nats://127.0.0.1:4222',
        PIPER_META: 'postgres://piper@127.0.0.1:5432/piper',
        PIPER_BLOBS: 's3://bucket/prefix',
      },
      cwd,
    })
    assert.equal(config.queue, 'nats://127.0.0.1:4222')
    assert.equal(config.meta, 'postgres://piper@127.0.0.1:5432/piper')
    assert.equal(config.blobs, 's3://bucket/prefix')
  })
})

describe('loadConfig rejects bad values, naming the setting and what is allowed', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'non-numeric port',
      { PIPER_PORT: 'http' },
      /invalid port from PIPER_PORT="http": expected a whole number from 0 to 65535/,
    ],
    ['port out of range', { PIPER_PORT: '70000' }, /invalid port .*0 to 65535/],
    ['fractional port', { PIPER_PORT: '80.5' }, /invalid port/],
    [
      'unknown log level',
      { PIPER_LOG_LEVEL: 'loud' },
      /invalid logLevel .*expected one of: fatal, error, warn, info, debug, trace, silent/,
    ],
    ['zero workers', { PIPER_WORKERS: '0' }, /invalid workers .*1 to 256/],
    [
      'unknown queue scheme',
      { PIPER_QUEUE: 'kafka://x:9092' },
      /invalid queue .*unknown scheme "kafka:"; expected one of: embedded:, piper:, nats:/,
    ],
    [
      'queue without scheme',
      { PIPER_QUEUE: '/var/queue' },
      /invalid queue .*expected a URL starting with one of/,
    ],
    ['embedded without path', { PIPER_QUEUE: 'embedded:' }, /expected a path after "embedded:"/],
    ['network URL without host', { PIPER_META: 'postgres:///db' }, /invalid meta .*needs a host/],
    ['host with a slash', { PIPER_HOST: 'a/b' }, /invalid host/],
    ['empty data folder', { PIPER_DATA: '  ' }, /invalid data .*expected a folder path/],
    [
      'history kept less than an hour',
      { PIPER_HISTORY_RETENTION_MS: '60000' },
      /invalid historyRetentionMs .*expected 0 \(kept for ever\) or a whole number from 3600000 to/,
    ],
  ]
  for (const [what, env, message] of cases) {
    test(what, () => {
      const error = configError(() => loadConfig({ env, cwd }))
      assert.match(error.message, message)
      assert.equal(error.source, 'env')
    })
  }

  test('history is kept 30 days unless set; 0 keeps it for ever', () => {
    assert.equal(loadConfig({ env: {}, cwd }).config.historyRetentionMs, 30 * 24 * 3_600_000)
    const env = { PIPER_HISTORY_RETENTION_MS: '0' }
    assert.equal(loadConfig({ env, cwd }).config.historyRetentionMs, 0)
    const flags = { historyRetentionMs: '86400000' }
    assert.equal(loadConfig({ flags, env: {}, cwd }).config.historyRetentionMs, 86_400_000)
  })

  test('a flag value is named as a flag', () => {
    const error = configError(() => loadConfig({ flags: { port: '-1' }, env: {}, cwd }))
    assert.match(error.message, /invalid port from --port="-1"/)
    assert.equal(error.setting, 'port')
    assert.equal(error.source, 'flag')
  })

  test('a secret that is too short is rejected without echoing it', () => {
    const error = configError(() => loadConfig({ env: { PIPER_QUEUE_TOKEN: 'short' }, cwd }))
    assert.match(error.message, /invalid queueToken .*\(hidden\).*at least 16 characters/)
    assert.doesNotMatch(error.message, /short/)
  })

  test('a file value of the wrong type names the file', () => {
    const file = tempFile('bad.json', '{"port": "eighty"}')
    const error = configError(() => loadConfig({ flags: { config: file }, env: {}, cwd }))
    assert.match(error.message, /invalid port from "port" in .*bad\.json="eighty"/)
    assert.equal(error.source, 'file')
  })

  test('a missing config file', () => {
    const error = configError(() =>
      loadConfig({ flags: { config: '/nonexistent/piper.json' }, env: {}, cwd }),
    )
    assert.match(error.message, /config file \/nonexistent\/piper\.json: no such file/)
  })

  test('a config file that is not JSON', () => {
    const file = tempFile('broken.json', '{ port: 1 ')
    const error = configError(() => loadConfig({ flags: { config: file }, env: {}, cwd }))
    assert.match(error.message, /is not valid JSON/)
  })

  test('a config file that is not an object', () => {
    const file = tempFile('array.json', '[1, 2]')
    assert.match(
      configError(() => loadConfig({ flags: { config: file }, env: {}, cwd })).message,
      /must hold a JSON object/,
    )
  })

  test('a config file with an unknown setting lists the allowed ones', () => {
    const file = tempFile('typo.json', '{"prot": 8080}')
    const error = configError(() => loadConfig({ flags: { config: file }, env: {}, cwd }))
    assert.match(error.message, /unknown setting "prot"; allowed: data, host, port/)
  })
})

test('unknown PIPER_* variables are warnings, not errors', () => {
  const { warnings } = loadConfig({ env: { PIPER_PROT: '1', PIPER_CONFIG: '' }, cwd })
  assert.deepEqual(warnings, ['unknown environment variable PIPER_PROT is ignored'])
})

test('printableConfig masks secrets and URL passwords', () => {
  const loaded = loadConfig({
    env: {
      PIPER_QUEUE_TOKEN: 'a-very-long-shared-secret',
      PIPER_META: 'postgres://piper:hunter2@db.internal:5432/piper',
      PIPER_KEY: 'pk_live_123',
    },
    cwd,
  })
  const printed = printableConfig(loaded)
  const text = JSON.stringify(printed)
  assert.doesNotMatch(text, /a-very-long-shared-secret|hunter2|pk_live_123/)
  assert.equal(printed.queueToken?.value, '****')
  assert.equal(printed.key?.value, '****')
  assert.equal(printed.meta?.value, 'postgres://piper:****@db.internal:5432/piper')
  assert.equal(printed.meta?.source, 'env')
})
