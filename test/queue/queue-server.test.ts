import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it, type TestContext } from 'node:test'
import { WebSocket } from 'ws'
import { EmbeddedQueue, QueueServer, RemoteQueue } from '../../src/queue/index.ts'
import { encodeFrame, SUBPROTOCOL } from '../../src/queue/remote/protocol.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'

const logger = createLogger({ level: 'silent' })
const TOKEN = 'server-test-token-0123'

const AUTH = { headers: { authorization: `Bearer ${TOKEN}` } }

async function serve(
  t: TestContext,
  dir?: string,
  port = 0,
  limits: { maxConnections?: number; helloTimeoutMs?: number } = {},
) {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'piper-serve-')))
  const queue = new EmbeddedQueue({ dir: folder, logger })
  await queue.start()
  const server = new QueueServer({
    queue,
    host: '127.0.0.1',
    port,
    token: TOKEN,
    logger,
    heartbeatMs: 500,
    ...limits,
  })
  await server.start()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.close()
    await queue.close()
  }
  t.after(async () => {
    await stop()
    if (!dir) await rm(folder, { recursive: true, force: true })
  })
  return { dir: folder, server, stop }
}

async function client(t: TestContext, port: number, token = TOKEN): Promise<RemoteQueue> {
  const queue = new RemoteQueue({
    url: `piper://127.0.0.1:${port}`,
    token,
    logger,
    requestTimeoutMs: 10_000,
  })
  await queue.start()
  t.after(() => queue.close())
  return queue
}

/** A raw WebSocket that says hello, for sending frames a well-behaved client never would. */
async function rawSocket(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1`, SUBPROTOCOL, AUTH)
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  socket.send(encodeFrame({ op: 'hello', v: 1, token: TOKEN }))
  await new Promise((resolve) => socket.once('message', resolve))
  return socket
}

function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
}

it('a wrong token is refused with E_QUEUE_AUTH', async (t) => {
  const { server } = await serve(t)
  const queue = new RemoteQueue({
    url: `piper://127.0.0.1:${server.port}`,
    token: 'wrong-token-wrong-token',
    logger,
  })
  await assert.rejects(queue.start(), { code: 'E_QUEUE_AUTH' })
  await queue.close()
})

it('a server that is not a queue server (an HTTP port, or nothing) is named in the error', async (t) => {
  const http = createServer((_req, res) => res.writeHead(404).end())
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.after(() => http.close())
  const { port } = http.address() as AddressInfo
  const wrong = new RemoteQueue({ url: `piper://127.0.0.1:${port}`, logger })
  await assert.rejects(wrong.start(), {
    code: 'E_QUEUE_UNAVAILABLE',
    message: /answered HTTP 404.*piper queue serve/,
  })
  await wrong.close()
  http.close()
  await once(http, 'close')
  const nobody = new RemoteQueue({ url: `piper://127.0.0.1:${port}`, logger })
  await assert.rejects(nobody.start(), { code: 'E_QUEUE_UNAVAILABLE', message: /ECONNREFUSED/ })
  await nobody.close()
})

it('refuses to listen beyond loopback without a token', () => {
  const queue = new EmbeddedQueue({ dir: '/nonexistent', logger })
  assert.throws(() => new QueueServer({ queue, host: '0.0.0.0', port: 0, logger }), {
    code: 'E_QUEUE_AUTH',
  })
})

it('a malformed frame closes that connection with a protocol error; others go on', async (t) => {
  const { server } = await serve(t)
  const good = await client(t, server.port)
  await good.publish('serve.a', Buffer.from('before'))
  for (const bad of [
    Buffer.from([1, 2]),
    encodeFrame({ op: 'nonsense', id: 1 }),
    encodeFrame({ op: 'publish', id: 2, topic: 'serve.a' }),
    encodeFrame({ op: 'fetch' }),
  ]) {
    const socket = await rawSocket(server.port)
    const closed = closeOf(socket)
    socket.send(bad)
    const { code, reason } = await closed
    assert.equal(code, 1002, reason)
    assert.match(reason, /E_QUEUE_PROTOCOL/)
  }
  const text = new WebSocket(`ws://127.0.0.1:${server.port}/v1`, SUBPROTOCOL, AUTH)
  await new Promise((resolve) => text.once('open', resolve))
  const closed = closeOf(text)
  text.send('{"op":"hello"}')
  assert.equal((await closed).code, 1002)
  assert.equal(await good.publish('serve.a', Buffer.from('after')), 1)
})

it('a protocol version the server does not speak is refused', async (t) => {
  const { server } = await serve(t)
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/v1`, SUBPROTOCOL, AUTH)
  await new Promise((resolve) => socket.once('open', resolve))
  const closed = closeOf(socket)
  socket.send(encodeFrame({ op: 'hello', v: 99, token: TOKEN }))
  assert.match((await closed).reason, /version 99/)
})

it('a cut connection resumes: publishes confirm once, leases and acks carry on', async (t) => {
  const { server } = await serve(t)
  const proxy = await TcpProxy.start(server.port)
  t.after(() => proxy.close())
  const queue = await client(t, proxy.port)
  const consumer = await queue.consumer('serve.cut', 'g', { ackWaitMs: 60_000 })
  const publishing = Array.from({ length: 500 }, (_, i) =>
    queue.publish('serve.cut', Buffer.from(`m${i}`)),
  )
  proxy.cut()
  const offsets = await Promise.all(publishing)
  assert.equal(new Set(offsets).size, 500)
  const got = []
  while (got.length < 500) {
    got.push(...(await consumer.fetch(100, 1000)))
    if (got.length === 200) proxy.cut()
  }
  for (const m of got) await consumer.ack(m)
  const [stats] = await queue.stats('serve.cut')
  assert.equal(stats!.messages, 500, 'no publish was applied twice')
  assert.equal(stats!.groups[0]!.lag, 0)
})

it('after the server restarts, clients reconnect and rejoin their groups', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-serve-'))
  const first = await serve(t, dir)
  const port = first.server.port
  const queue = await client(t, port)
  const consumer = await queue.consumer('serve.restart', 'g', { ackWaitMs: 60_000 })
  await queue.publish('serve.restart', Buffer.from('one'))
  const [one] = await consumer.fetch(1, 1000)
  await consumer.ack(one!)
  await queue.publish('serve.restart', Buffer.from('two'))
  await first.stop()
  await serve(t, dir, port)
  t.after(() => rm(dir, { recursive: true, force: true }))
  // Leases died with the server: "two" comes again, "one" (acked) does not.
  const again = await consumer.fetch(10, 5000)
  assert.deepEqual(
    again.map((m) => Buffer.from(m.payload).toString()),
    ['two'],
  )
  assert.equal(await queue.publish('serve.restart', Buffer.from('three')), 2)
})

/** The HTTP status a WebSocket upgrade was refused with. */
function refusedWith(socket: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    socket.once('open', () => reject(new Error('the upgrade was accepted')))
  })
}

it('an upgrade without the token never becomes a WebSocket (401), whatever it would send', async (t) => {
  const { server } = await serve(t)
  const url = `ws://127.0.0.1:${server.port}/v1`
  assert.equal(await refusedWith(new WebSocket(url, SUBPROTOCOL)), 401)
  const wrong = new WebSocket(url, SUBPROTOCOL, { headers: { authorization: 'Bearer nope' } })
  assert.equal(await refusedWith(wrong), 401)
  const queue = await client(t, server.port)
  assert.equal(await queue.publish('serve.auth', Buffer.from('still serving')), 0)
})

it('a connection that says no hello in time, or an oversized one, is closed', async (t) => {
  const { server } = await serve(t, undefined, 0, { helloTimeoutMs: 300 })
  const url = `ws://127.0.0.1:${server.port}/v1`
  const silent = new WebSocket(url, SUBPROTOCOL, AUTH)
  await once(silent, 'open')
  assert.match((await closeOf(silent)).reason, /no hello/)
  const big = new WebSocket(url, SUBPROTOCOL, AUTH)
  await once(big, 'open')
  const closed = closeOf(big)
  big.send(encodeFrame({ op: 'hello', v: 1, token: TOKEN, pad: 'x'.repeat(100_000) }))
  assert.match((await closed).reason, /at most 65536 bytes/)
})

it('connections beyond the cap are refused with 503', async (t) => {
  const { server } = await serve(t, undefined, 0, { maxConnections: 2 })
  const url = `ws://127.0.0.1:${server.port}/v1`
  const open = [new WebSocket(url, SUBPROTOCOL, AUTH), new WebSocket(url, SUBPROTOCOL, AUTH)]
  await Promise.all(open.map((s) => once(s, 'open')))
  assert.equal(await refusedWith(new WebSocket(url, SUBPROTOCOL, AUTH)), 503)
  for (const s of open) s.close()
  await Promise.all(open.map((s) => once(s, 'close')))
  const queue = await client(t, server.port)
  assert.equal(await queue.publish('serve.cap', Buffer.from('room again')), 0)
})
