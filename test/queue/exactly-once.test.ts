import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { running, startPiperProcess } from '../helpers/piper-process.ts'
import { freePort } from '../helpers/ports.ts'
import { storedPayloads, writeLines } from '../helpers/queue-lines.ts'
import { isListening } from '../helpers/services.ts'

const dirs: string[] = []
after(async () => {
  for (const child of running) child.kill('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const piper = startPiperProcess

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
  const writing = writeLines(publisher.child.stdin!, lines)
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

  const counts = await storedPayloads(join(data, 'queue'), 'once.lines')
  const duplicated = [...counts].filter(([, n]) => n > 1)
  assert.deepEqual(duplicated.slice(0, 5), [], `${duplicated.length} lines stored twice`)
  assert.equal(counts.size, lines, 'every line stored')
})
