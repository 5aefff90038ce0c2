import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { cleanEnv, PIPER_BIN } from '../helpers/cli.ts'
import { freePort } from '../helpers/ports.ts'
import { isListening } from '../helpers/services.ts'

const logger = createLogger({ level: 'silent' })
const dirs: string[] = []
const children = new Set<ChildProcess>()
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

function piper(args: string[], stdin: 'ignore' | 'pipe' = 'ignore') {
  const child = spawn(process.execPath, [PIPER_BIN, ...args], {
    env: cleanEnv(),
    stdio: [stdin, 'pipe', 'pipe'],
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = once(child, 'exit').then(([code]) => {
    children.delete(child)
    return code as number | null
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

async function serve(data: string, port: number) {
  const server = piper(['queue', 'serve', '--data', data, '--port', String(port)])
  while (!(await isListening('127.0.0.1', port, 200))) {
    if (server.child.exitCode !== null) throw new Error(`serve exited: ${server.stderr()}`)
    await sleep(25)
  }
  return server
}

it('piper queue publish through a kill -9 and restart of piper queue serve stores every line exactly once, and prints only offsets', async () => {
  const data = await mkdtemp(join(tmpdir(), 'piper-exactly-once-'))
  dirs.push(data)
  const port = await freePort()
  const lines = 200_000
  let server = await serve(data, port)
  const publisher = piper(
    ['queue', 'publish', 'once.lines', '--queue', `piper://127.0.0.1:${port}`],
    'pipe',
  )
  // Lines are written as the publisher takes them (backpressure), so many are in flight
  // when the server dies.
  const writing = (async () => {
    const stdin = publisher.child.stdin!
    for (let i = 0; i < lines; i += 1000) {
      const block = Array.from({ length: 1000 }, (_, j) => `line-${i + j}\n`).join('')
      if (!stdin.write(block)) await once(stdin, 'drain')
    }
    stdin.end()
  })()
  while (publisher.stdout().split('\n').length < 20_000) {
    assert.equal(publisher.child.exitCode, null, publisher.stderr())
    await sleep(10)
  }
  server.child.kill('SIGKILL')
  await server.exited
  server = await serve(data, port)
  await writing
  assert.equal(await publisher.exited, 0, publisher.stderr())
  server.child.kill('SIGTERM')
  await server.exited

  const printed = publisher.stdout().trimEnd().split('\n')
  assert.ok(
    printed.every((l) => /^\d+$/.test(l)),
    `stdout holds offsets only: ${printed.find((l) => !/^\d+$/.test(l))}`,
  )
  assert.equal(printed.length, lines, 'one confirmed offset per line')
  assert.equal(new Set(printed).size, lines, 'no offset confirmed twice')

  const queue = new EmbeddedQueue({ dir: join(data, 'queue'), logger })
  await queue.start()
  try {
    const consumer = await queue.consumer('once.lines', 'check')
    const counts = new Map<string, number>()
    for (;;) {
      const batch = await consumer.fetch(5000, 100)
      if (batch.length === 0) break
      for (const m of batch) {
        const text = Buffer.from(m.payload).toString()
        counts.set(text, (counts.get(text) ?? 0) + 1)
      }
      await Promise.all(batch.map((m) => consumer.ack(m)))
    }
    const duplicated = [...counts].filter(([, n]) => n > 1)
    assert.deepEqual(duplicated.slice(0, 5), [], `${duplicated.length} lines stored twice`)
    assert.equal(counts.size, lines, 'every line stored')
    await consumer.close()
  } finally {
    await queue.close()
  }
})
