import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { NatsQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { freePort } from '../helpers/ports.ts'
import { isListening } from '../helpers/services.ts'
import { makeCertificate } from '../helpers/tls-cert.ts'

const NATS_SERVER = '/usr/sbin/nats-server'
const logger = createLogger({ level: 'silent' })
const dirs: string[] = []
const servers: ChildProcess[] = []
after(async () => {
  for (const server of servers) server.kill('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

/** A NATS server of this test's own, with JetStream and the given auth flags. */
async function natsServer(t: TestContext, flags: string[]): Promise<number | undefined> {
  if (spawnSync(NATS_SERVER, ['--version']).status !== 0) {
    if (process.env.CI === 'true') assert.fail(`${NATS_SERVER} is missing`)
    t.skip(`${NATS_SERVER} is not installed`)
    return undefined
  }
  const dir = await mkdtemp(join(tmpdir(), 'piper-nats-auth-'))
  dirs.push(dir)
  const port = await freePort()
  const server = spawn(
    NATS_SERVER,
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...flags],
    {
      stdio: 'ignore',
    },
  )
  servers.push(server)
  while (!(await isListening('127.0.0.1', port, 200))) await sleep(20)
  return port
}

async function roundTrip(url: string): Promise<void> {
  const queue = new NatsQueue(url, logger)
  await queue.start()
  try {
    assert.equal(await queue.publish('auth.t', Buffer.from('hello')), 0)
  } finally {
    await queue.close()
  }
}

it('nats:// URLs carry a user and password, or a token; wrong ones are E_QUEUE_AUTH without the secret', async (t) => {
  const port = await natsServer(t, ['--user', 'piper', '--pass', 's3cret-pass'])
  if (port === undefined) return
  await roundTrip(`nats://piper:s3cret-pass@127.0.0.1:${port}`)
  const wrong = new NatsQueue(`nats://piper:wrong-pass@127.0.0.1:${port}`, logger)
  const refused = await wrong.start().then(
    () => assert.fail('connected with a wrong password'),
    (error: Error & { code?: string }) => error,
  )
  assert.equal(refused.code, 'E_QUEUE_AUTH', refused.message)
  assert.doesNotMatch(refused.message, /wrong-pass/)
  await wrong.close()

  const tokenPort = await natsServer(t, ['--auth', 'a-token-of-ours'])
  await roundTrip(`nats://a-token-of-ours@127.0.0.1:${tokenPort}`)
})

it('nats:// with ?ca= speaks TLS to a server with a private certificate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-nats-tls-'))
  dirs.push(dir)
  const made = makeCertificate(t, dir)
  if (!made) return
  const { cert, key } = made
  const port = await natsServer(t, ['--tls', '--tlscert', cert, '--tlskey', key])
  if (port === undefined) return
  await roundTrip(`nats://127.0.0.1:${port}?ca=${encodeURIComponent(cert)}`)
  // Without the CA the certificate is not trusted: no silent plain-text fallback.
  const untrusted = new NatsQueue(`nats://127.0.0.1:${port}?tls=true`, logger)
  await assert.rejects(untrusted.start(), { code: 'E_QUEUE_UNAVAILABLE' })
  await untrusted.close()
})
