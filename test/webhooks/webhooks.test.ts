import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import fc from 'fast-check'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { isPublicAddress } from '../../src/net/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import {
  checkEventPatterns,
  checkWebhookTarget,
  signWebhook,
  verifyWebhook,
  WebhookSender,
  WebhookService,
  wantsEvent,
} from '../../src/webhooks/index.ts'

const cleanups: (() => Promise<unknown>)[] = []
after(() => Promise.all(cleanups.map((c) => c())))

it('signatures follow Standard Webhooks: its published test vector, rotation, replay window', () => {
  // The test vector of the Standard Webhooks specification's reference libraries.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const body = '{"test": 2432232314}'
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
  assert.equal(
    signWebhook(secret, id, 1614265330, body),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  )
  const headers = (signature: string) => ({ id, timestamp: '1614265330', signature })
  const at = 1614265330_000
  const good = signWebhook(secret, id, 1614265330, body)
  assert.ok(verifyWebhook(secret, headers(good), body, at))
  assert.ok(verifyWebhook(secret, headers(`v1,AAAA ${good}`), body, at), 'one of several')
  assert.ok(!verifyWebhook(secret, headers(good), `${body} `, at), 'another body')
  assert.ok(!verifyWebhook(secret, headers(good), body, at + 600_000), 'too old: a replay')
  fc.assert(
    fc.property(fc.string(), fc.string(), (text, other) => {
      const sig = signWebhook(secret, id, 1614265330, text)
      assert.equal(verifyWebhook(secret, headers(sig), other, at), text === other)
    }),
  )
})

it('event patterns: names, kind.* and *; unknown ones are refused', () => {
  assert.deepEqual(checkEventPatterns(['job.succeeded', 'file.*', 'job.succeeded']), [
    'job.succeeded',
    'file.*',
  ])
  for (const bad of [[], 'job.succeeded', ['job.done'], ['jobs.*'], [3], ['*.*']]) {
    assert.throws(() => checkEventPatterns(bad), { code: 'E_WEBHOOK_REQUEST' }, String(bad))
  }
  assert.ok(wantsEvent(['file.*'], 'file.deleted'))
  assert.ok(wantsEvent(['*'], 'run.failed'))
  assert.ok(!wantsEvent(['job.*'], 'run.failed'))
  assert.ok(!wantsEvent(['job.failed'], 'job.succeeded'))
})

it('SSRF: loopback, private, link-local and mapped addresses are refused as targets', async () => {
  for (const host of [
    '127.0.0.1',
    '10.0.0.8',
    '169.254.169.254',
    '192.168.1.1',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[fd00::1]',
    'localhost',
    '0.0.0.0',
  ]) {
    await assert.rejects(
      checkWebhookTarget(`http://${host}:8080/hook`, false),
      { code: 'E_WEBHOOK_TARGET' },
      host,
    )
  }
  await assert.rejects(checkWebhookTarget('ftp://example.com/', false), {
    code: 'E_WEBHOOK_REQUEST',
  })
  await assert.rejects(checkWebhookTarget('http://u:p@example.com/', false), {
    code: 'E_WEBHOOK_REQUEST',
  })
  assert.equal(
    (await checkWebhookTarget('http://127.0.0.1:9/x', true)).href,
    'http://127.0.0.1:9/x',
  )
  assert.ok(isPublicAddress('93.184.216.34'))
  assert.ok(!isPublicAddress('100.64.0.1'), 'shared address space')
})

/** An endpoint answering with the status `answer()` says; what it received. */
async function endpoint(answer: () => number) {
  const received: { headers: IncomingMessage['headers']; body: string }[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (p: Buffer) => parts.push(p))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString() })
      res.writeHead(answer()).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received }
}

it('a failing endpoint is retried until it has failed for a day, then disabled; success resets the count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-webhooks-'))
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await meta.start()
  cleanups.push(async () => {
    await meta.close()
    await rm(dir, { recursive: true, force: true })
  })
  let status = 500
  const target = await endpoint(() => status)
  const clock = { now: Date.UTC(2026, 11, 2) }
  const service = new WebhookService({
    store: meta,
    latestEvent: async () => 0,
    allowPrivate: true,
    now: () => clock.now,
  })
  // The request is checked against the schema /v1/openapi.json shows, naming the field.
  await assert.rejects(service.create('c', { url: target.url, events: ['file.*'], x: 1 }), {
    code: 'E_WEBHOOK_REQUEST',
    message: 'body has an unknown field "x"',
  })
  await assert.rejects(service.create('c', { url: target.url }), {
    message: 'body.events is required',
  })
  const hook = await service.create('c', { url: target.url, events: ['file.*'] })
  assert.match(hook.secret, /^whsec_/)
  const day = 24 * 3_600_000
  const sender = new WebhookSender({
    queue: undefined as never,
    store: meta,
    logger: createLogger({ level: 'silent' }),
    allowPrivate: true,
    retryBaseMs: 100,
    disableAfterMs: day,
    now: () => clock.now,
  })
  const delivery = (event: number, attempt: number) => ({
    client: 'c',
    webhook: hook.id,
    event,
    type: 'file.created',
    timestamp: clock.now,
    data: { file: 'a.txt', action: 'created' },
    attempt,
  })
  await assert.rejects(sender.send(delivery(1, 1)), /HTTP 500/)
  const failing = await service.get('c', hook.id)
  assert.equal(failing.failingSince, clock.now)
  // An hour later it answers: the failure run ends.
  clock.now += 3_600_000
  status = 204
  await sender.send(delivery(1, 2))
  assert.equal((await service.get('c', hook.id)).failingSince, undefined)
  // Then it fails again, for just under a day: still retried.
  status = 503
  const since = clock.now
  await assert.rejects(sender.send(delivery(2, 1)))
  clock.now = since + day - 1
  await assert.rejects(sender.send(delivery(2, 2)))
  assert.equal((await service.get('c', hook.id)).state, 'active')
  clock.now = since + day
  await sender.send(delivery(2, 3)) // disabled: nothing to retry
  const disabled = await service.get('c', hook.id)
  assert.equal(disabled.state, 'disabled')
  assert.match(disabled.disabledReason ?? '', /HTTP 503/)
  const sent = target.received.length
  await sender.send(delivery(3, 1))
  assert.equal(target.received.length, sent, 'a disabled webhook gets nothing')
  // Every attempt was signed and logged; the same message keeps its id across attempts.
  const attempts = await service.deliveries('c', hook.id, { limit: 10 })
  assert.equal(attempts.length, 5)
  assert.deepEqual(
    attempts.map((a) => a.status),
    [503, 503, 503, 204, 500],
  )
  assert.equal(target.received[0]!.headers['webhook-id'], target.received[1]!.headers['webhook-id'])
  for (const r of target.received) {
    const ok = verifyWebhook(
      hook.secret,
      {
        id: String(r.headers['webhook-id']),
        timestamp: String(r.headers['webhook-timestamp']),
        signature: String(r.headers['webhook-signature']),
      },
      r.body,
      Number(r.headers['webhook-timestamp']) * 1000,
    )
    assert.ok(ok, 'signed with the webhook secret')
  }
  // Enabled again, it delivers; a rotation signs with both secrets for a while.
  await service.enable('c', hook.id)
  const rotated = await service.rotate('c', hook.id)
  status = 200
  await sender.send(delivery(4, 1))
  const last = target.received.at(-1)!
  assert.equal(String(last.headers['webhook-signature']).split(' ').length, 2)
  assert.notEqual(rotated.secret, hook.secret)
})
