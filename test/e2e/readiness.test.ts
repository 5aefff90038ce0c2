import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startPiper } from '../helpers/piper-server.ts'
import { startQueueServer } from '../helpers/queue-server.ts'

/** Asks `/readyz` until its status is `status` (the event waited for, a bounded number of times). */
async function readyz(base: string, status: number) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/readyz`)
    const body = (await res.json()) as { status: string; failing?: string[] }
    if (res.status === status) return body
    await sleep(100)
  }
  throw new Error(`/readyz never answered ${status}`)
}

it('/readyz goes 503 naming the queue while the queue server is down, and 200 once it is back; /livez stays 200', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-ready-'))
  let queue = await startQueueServer(dir)
  const piper = await startPiper(['--queue', queue.url], {}, join(dir, 'data'))
  try {
    assert.deepEqual(await readyz(piper.url, 200), { status: 'ok' })
    await queue.stop()
    assert.deepEqual(await readyz(piper.url, 503), { status: 'unready', failing: ['queue'] })
    assert.equal((await fetch(`${piper.url}/livez`)).status, 200)
    queue = await startQueueServer(dir, queue.port)
    assert.deepEqual(await readyz(piper.url, 200), { status: 'ok' })
  } finally {
    await piper.stop()
    await queue.stop()
    await rm(dir, { recursive: true, force: true })
  }
})
