import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Gateway } from '../../src/gateway/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const logger = createLogger({ level: 'silent', pretty: false })

async function started(): Promise<Gateway> {
  const gateway = new Gateway({ host: '127.0.0.1', port: 0, logger })
  await gateway.start()
  return gateway
}

test('health endpoints answer 200 while serving', async (t) => {
  const gateway = await started()
  t.after(() => gateway.close())
  for (const path of ['/healthz', '/livez', '/readyz']) {
    const res = await fetch(`${gateway.url}${path}`)
    assert.equal(res.status, 200, path)
    assert.deepEqual(await res.json(), { status: 'ok' })
  }
})

test('draining turns readiness to 503 while liveness stays 200', async (t) => {
  const gateway = await started()
  t.after(() => gateway.close())
  gateway.drain()
  const ready = await fetch(`${gateway.url}/readyz`)
  assert.equal(ready.status, 503)
  assert.deepEqual(await ready.json(), { status: 'draining' })
  assert.equal((await fetch(`${gateway.url}/livez`)).status, 200)
})

test('HEAD answers headers without a body; other methods get 405', async (t) => {
  const gateway = await started()
  t.after(() => gateway.close())
  const head = await fetch(`${gateway.url}/healthz`, { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(head.headers.get('content-length'), '15')
  assert.equal(await head.text(), '')
  const post = await fetch(`${gateway.url}/healthz`, { method: 'POST' })
  assert.equal(post.status, 405)
  assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'E_METHOD')
})

test('close is idempotent and stops accepting connections', async () => {
  const gateway = await started()
  const url = gateway.url
  await Promise.all([gateway.close(), gateway.close()])
  await gateway.close()
  await assert.rejects(fetch(`${url}/healthz`))
})

test('close waits for an idle keep-alive client without hanging', { timeout: 15_000 }, async () => {
  const gateway = await started()
  const res = await fetch(`${gateway.url}/healthz`, { headers: { connection: 'keep-alive' } })
  await res.text()
  await gateway.close()
})
