import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { isListening, requireServer } from './services.ts'

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('isListening tells an open port from a closed one', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  assert.equal(await isListening('127.0.0.1', port), true)
  await new Promise((resolve) => server.close(resolve))
  assert.equal(await isListening('127.0.0.1', port), false)
})

test('requireServer fails under CI=true when the server is absent', async (t) => {
  const port = await closedPort()
  const absent = { name: 'Nothing', host: '127.0.0.1', port, howToStart: 'nothing' }
  await assert.rejects(requireServer(t, absent, { CI: 'true' }), /Nothing is not answering/)
})

test('requireServer skips locally when the server is absent', async (t) => {
  const port = await closedPort()
  const absent = { name: 'Nothing', host: '127.0.0.1', port, howToStart: 'nothing' }
  await t.test('inner', async (inner) => {
    assert.equal(await requireServer(inner, absent, {}), false)
  })
})
