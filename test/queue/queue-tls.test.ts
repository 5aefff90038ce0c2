import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { EmbeddedQueue, QueueServer, RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { runPiper } from '../helpers/cli.ts'
import { makeCertificate } from '../helpers/tls-cert.ts'

const logger = createLogger({ level: 'silent' })
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

it('piper queue serve speaks wss:// with a certificate; a client trusting its CA connects, a plain one does not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-queue-tls-'))
  dirs.push(dir)
  const made = makeCertificate(t, dir)
  if (!made) return
  const { cert: certPath, key: keyPath } = made
  const queue = new EmbeddedQueue({ dir: join(dir, 'queue'), logger })
  await queue.start()
  const token = 'tls-test-token-0123456'
  const server = new QueueServer({
    queue,
    host: '127.0.0.1',
    port: 0,
    token,
    logger,
    tls: { cert: await readFile(certPath), key: await readFile(keyPath) },
  })
  await server.start()
  try {
    const client = new RemoteQueue({
      url: `piper://127.0.0.1:${server.port}?ca=${encodeURIComponent(certPath)}`,
      token,
      logger,
    })
    await client.start()
    assert.equal(await client.publish('tls.t', Buffer.from('over tls')), 0)
    await client.close()
    const plain = new RemoteQueue({ url: `piper://127.0.0.1:${server.port}`, token, logger })
    await assert.rejects(plain.start(), { code: 'E_QUEUE_UNAVAILABLE' })
    await plain.close()
    const untrusted = new RemoteQueue({
      url: `piper://127.0.0.1:${server.port}?tls=true`,
      token,
      logger,
    })
    await assert.rejects(untrusted.start(), { code: 'E_QUEUE_UNAVAILABLE' })
    await untrusted.close()
  } finally {
    await server.close()
    await queue.close()
  }
  // The command refuses half a TLS setting, as a usage error.
  const half = await runPiper([
    'queue',
    'serve',
    '--data',
    dir,
    '--port',
    '0',
    '--queue-tls-cert',
    certPath,
  ])
  assert.equal(half.code, 2, half.stderr)
  assert.match(half.stderr, /needs both --queue-tls-cert and --queue-tls-key/)
})
