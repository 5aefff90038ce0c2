import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { runPiper } from '../helpers/cli.ts'
import { running, startPiperProcess } from '../helpers/piper-process.ts'
import { freePort } from '../helpers/ports.ts'
import { isListening } from '../helpers/services.ts'

const dirs: string[] = []
after(async () => {
  for (const child of running) child.kill('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const start = (args: string[]) => startPiperProcess(args)

async function serve(): Promise<{ url: string; server: ReturnType<typeof start> }> {
  const data = await mkdtemp(join(tmpdir(), 'piper-consume-'))
  dirs.push(data)
  const port = await freePort()
  const server = start(['queue', 'serve', '--data', data, '--port', String(port)])
  while (!(await isListening('127.0.0.1', port, 200))) await sleep(25)
  return { url: `piper://127.0.0.1:${port}`, server }
}

it('piper queue consume --ack acknowledges every message it prints, and no other', async () => {
  const { url, server } = await serve()
  try {
    const input = Array.from({ length: 5000 }, (_, i) => `m${i}\n`).join('')
    const published = await runPiper(['queue', 'publish', 'c.acks', '--queue', url], { input })
    assert.equal(published.code, 0, published.stderr)
    const consume = (...flags: string[]) =>
      runPiper(['queue', 'consume', 'c.acks', '--group', 'g', '--queue', url, ...flags])
    const first = await consume('--count', '3000')
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout, Array.from({ length: 3000 }, (_, i) => `m${i}\n`).join(''))
    // The rest, and only the rest: the first 3000 were acknowledged before the command ended.
    const rest = await consume('--count', '9999', '--wait', '300')
    assert.equal(rest.code, 0, rest.stderr)
    assert.equal(rest.stdout.split('\n').length - 1, 2000)
    assert.ok(rest.stdout.startsWith('m3000\n'))
  } finally {
    server.child.kill('SIGTERM')
    await server.exited
  }
})

it('SIGTERM stops piper queue consume while its server is down', { timeout: 20_000 }, async () => {
  const { url, server } = await serve()
  const published = await runPiper(['queue', 'publish', 'c.down', '--queue', url], {
    input: 'a\nb\n',
  })
  assert.equal(published.code, 0)
  const consumer = start(['queue', 'consume', 'c.down', '--group', 'g', '--queue', url])
  while (consumer.stdout() !== 'a\nb\n') await sleep(20)
  server.child.kill('SIGKILL')
  await server.exited
  // Its fetch now waits for a server that does not come back; the signal must still end it.
  await sleep(200)
  consumer.child.kill('SIGTERM')
  const code = await consumer.exited
  assert.equal(code, 0, consumer.stderr())
})
