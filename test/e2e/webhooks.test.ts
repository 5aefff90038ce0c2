import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { it } from 'node:test'
import { verifyWebhook } from '../../src/webhooks/index.ts'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startPiper } from '../helpers/piper-server.ts'

interface Received {
  headers: IncomingMessage['headers']
  body: string
  event: { type: string; timestamp: string; data: Record<string, unknown> }
}

/** A webhook receiver: answers `status()`; resolves waiters as deliveries arrive. */
async function receiver(status: () => number) {
  const received: Received[] = []
  const waiters: { until: (r: Received[]) => boolean; resolve: () => void }[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (p: Buffer) => parts.push(p))
    req.on('end', () => {
      const body = Buffer.concat(parts).toString()
      const answer = status()
      res.writeHead(answer).end()
      if (answer < 300) received.push({ headers: req.headers, body, event: JSON.parse(body) })
      for (const w of waiters.filter((w) => w.until(received))) w.resolve()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/piper`,
    received,
    /** Resolves once the deliveries received satisfy `until`. */
    wait: (until: (r: Received[]) => boolean) =>
      until(received)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ until, resolve })),
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const json = (res: Response) => res.json() as Promise<Record<string, unknown>>

function verified(secret: string, r: Received): boolean {
  return verifyWebhook(
    secret,
    {
      id: String(r.headers['webhook-id']),
      timestamp: String(r.headers['webhook-timestamp']),
      signature: String(r.headers['webhook-signature']),
    },
    r.body,
  )
}

it('webhooks: file and job events reach a registered endpoint signed, retried after a failure, logged per attempt', async () => {
  let failures = 1
  const hooks = await receiver(() => (failures-- > 0 ? 500 : 200))
  const piper = await startPiper([
    '--webhook-allow-private',
    'true',
    '--webhook-retry-base-ms',
    '100',
  ])
  const api = (path: string, init?: RequestInit) => fetch(`${piper.url}${path}`, init)
  const post = (path: string, body: unknown) =>
    api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  try {
    const bad = await post('/v1/webhooks', { url: hooks.url, events: ['job.finished'] })
    assert.equal(bad.status, 400)
    const made = await post('/v1/webhooks', { url: hooks.url, events: ['file.created', 'job.*'] })
    assert.equal(made.status, 201, await made.clone().text())
    const hook = await json(made)
    assert.match(String(hook.secret), /^whsec_/)
    assert.ok(Array.isArray((await json(await api('/v1/webhooks'))).webhooks))
    assert.equal(
      (await json(await api(`/v1/webhooks/${hook.id}`))).secret,
      undefined,
      'the secret is shown once',
    )

    await api('/v1/files/w/in.txt', { method: 'PUT', body: 'hello webhooks\n'.repeat(1000) })
    const job = await json(await post('/v1/jobs', { type: 'compress', input: 'w/in.txt' }))
    // The first delivery got a 500 and comes again later: order is not promised, so wait for all.
    await hooks.wait(
      (r) =>
        r.some((d) => d.event.type === 'job.succeeded') &&
        r.some((d) => d.event.type === 'file.created' && d.event.data.file === 'w/in.txt'),
    )
    const types = hooks.received.map((d) => d.event.type)
    assert.ok(types.includes('file.created'), types.join())
    assert.ok(types.includes('job.queued') && types.includes('job.running'), types.join())
    const created = hooks.received.find(
      (d) => d.event.type === 'file.created' && d.event.data.file === 'w/in.txt',
    )
    assert.ok(created, 'the upload is told with its name')
    assert.equal(created.event.data.action, 'created')
    const succeeded = hooks.received.find((d) => d.event.type === 'job.succeeded')!
    assert.equal(succeeded.event.data.job, job.id)
    // The same shape as the job's own event stream and its polling answer.
    assert.equal(succeeded.event.data.state, 'succeeded')
    for (const d of hooks.received) assert.ok(verified(String(hook.secret), d), d.body)
    // The first attempt got a 500; the retry of that message kept its webhook-id.
    const page = await json(await api(`/v1/webhooks/${hook.id}/deliveries?limit=100`))
    const attempts = page.deliveries as { message_id: string; status: number; attempt: number }[]
    const failed = attempts.find((a) => a.status === 500)
    assert.ok(failed, JSON.stringify(attempts))
    assert.ok(
      attempts.some(
        (a) => a.message_id === failed.message_id && a.status === 200 && a.attempt === 2,
      ),
    )
    // Each message arrived once, whatever was retried.
    const ids = hooks.received.map((d) => d.headers['webhook-id'])
    assert.equal(new Set(ids).size, ids.length)

    const rotated = await json(await post(`/v1/webhooks/${hook.id}/rotate`, {}))
    assert.notEqual(rotated.secret, hook.secret)
    assert.equal((await api(`/v1/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204)
    assert.equal((await api(`/v1/webhooks/${hook.id}`)).status, 404)
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
    await hooks.close()
  }
})

it('webhooks: loopback and private targets are refused unless webhookAllowPrivate', async () => {
  const piper = await startPiper()
  try {
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://localhost/x',
    ]) {
      const res = await fetch(`${piper.url}/v1/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url, events: ['*'] }),
      })
      assert.equal(res.status, 400, url)
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        'E_WEBHOOK_TARGET',
      )
    }
    // The command line says so, and exits 1.
    const env = cleanEnv({ PIPER_URL: piper.url })
    const refused = await runPiper(['webhooks', 'add', 'http://10.0.0.1/x', '--events', '*'], {
      env,
    })
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /not a public address; .*webhookAllowPrivate/)
    const listed = await runPiper(['webhooks'], { env })
    assert.equal(listed.code, 0, listed.stderr)
    assert.equal(listed.stdout, '')
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})

it('webhooks: a delivery queued when piper up is killed (kill -9) arrives after it restarts', async () => {
  let up = false
  const attempts: string[] = []
  const hooks = await receiver(() => (up ? 200 : 503))
  const args = ['--webhook-allow-private', 'true', '--webhook-retry-base-ms', '100']
  let piper = await startPiper(args)
  try {
    const made = await fetch(`${piper.url}/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: hooks.url, events: ['file.created'] }),
    })
    const hook = (await made.json()) as { id: string; secret: string }
    await fetch(`${piper.url}/v1/files/crash.txt`, { method: 'PUT', body: 'x' })
    // Wait until the endpoint has refused the delivery once: it is on the queue, retrying.
    for (;;) {
      const page = (await (
        await fetch(`${piper.url}/v1/webhooks/${hook.id}/deliveries`)
      ).json()) as {
        deliveries: { message_id: string }[]
      }
      if (page.deliveries.length > 0) {
        attempts.push(page.deliveries[0]!.message_id)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    piper.child.kill('SIGKILL')
    await piper.exited
    up = true
    piper = await startPiper(args, {}, piper.data)
    await hooks.wait((r) => r.length > 0)
    assert.equal(hooks.received[0]!.headers['webhook-id'], attempts[0])
    assert.equal(hooks.received[0]!.event.data.file, 'crash.txt')
    assert.ok(verified(hook.secret, hooks.received[0]!))
  } finally {
    await piper.stop()
    await hooks.close()
  }
})
