import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { deleteNatsStreams, natsNamespace } from '../helpers/nats.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { startQueueServer } from '../helpers/queue-server.ts'
import { NATS, requireServer } from '../helpers/services.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'

/** A queue the test can take away and bring back on the same address. */
interface Outage {
  url: string
  down(): Promise<void>
  up(): Promise<void>
  close(): Promise<void>
}

const namespaces: string[] = []

after(() => deleteNatsStreams(namespaces.map((ns) => `${ns}__`)))

async function queueServer(): Promise<Outage> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-queue-outage-'))
  let server = await startQueueServer(dir)
  const port = server.port
  return {
    url: server.url,
    down: () => server.stop(),
    up: async () => {
      server = await startQueueServer(dir, port)
    },
    close: async () => {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** NATS behind a proxy: down cuts every connection and refuses new ones. */
async function natsBehindProxy(t: TestContext): Promise<Outage | undefined> {
  if (!(await requireServer(t, NATS))) return undefined
  let proxy = await TcpProxy.start(NATS.port)
  const port = proxy.port
  const namespace = natsNamespace('outage')
  namespaces.push(namespace)
  return {
    url: `nats://127.0.0.1:${port}?namespace=${namespace}`,
    down: () => proxy.close(),
    up: async () => {
      proxy = await TcpProxy.start(NATS.port, port)
    },
    close: () => proxy.close(),
  }
}

/** The state a job or run ends in. */
async function waitState(url: string): Promise<string> {
  for (;;) {
    const { state } = (await (await fetch(url)).json()) as { state: string }
    if (['succeeded', 'failed', 'cancelled'].includes(state)) return state
    await sleep(50)
  }
}

const waitJob = (url: string, id: string) => waitState(`${url}/v1/jobs/${id}`)

describe('a queue that stops answering', () => {
  for (const [name, start] of [
    ['piper queue serve', queueServer],
    ['NATS JetStream', natsBehindProxy],
  ] as const) {
    it(`${name}: its circuit opens, new jobs and runs are still accepted and run once it is back; /readyz and /metrics say so`, async (t) => {
      const queue = await start(t)
      if (!queue) return
      // Short timeouts so the test does not wait out 30 s requests; what it asserts is untimed.
      const piper = await startPiper([
        '--queue',
        queue.url,
        '--queue-timeout-ms',
        '300',
        '--circuit-reset-ms',
        '300',
      ])
      const queueCircuit = async () =>
        /piper_dependency_circuit_state\{dependency="queue"\} (\d)/.exec(
          await (await fetch(`${piper.url}/metrics`)).text(),
        )?.[1]
      const post = async (input: string) => {
        const res = await fetch(`${piper.url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'compress', input }),
        })
        assert.equal(res.status, 202, await res.clone().text())
        return ((await res.json()) as { id: string }).id
      }
      try {
        const text = 'queued while the queue was away\n'.repeat(2000)
        const put = await fetch(`${piper.url}/v1/files/t.txt`, { method: 'PUT', body: text })
        assert.equal(put.status, 201)
        assert.equal(await waitJob(piper.url, await post('t.txt')), 'succeeded')
        assert.equal(await queueCircuit(), '0')
        const pipeline = await fetch(`${piper.url}/v1/pipelines`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'sums', steps: { sum: { kind: 'hash' } } }),
        })
        assert.equal(pipeline.status, 201)

        await queue.down()
        // Every job is accepted (stored; it waits in the outbox) until the circuit opens, and after.
        const accepted: string[] = []
        while ((await queueCircuit()) !== '1') {
          accepted.push(await post('t.txt'))
          assert.ok(accepted.length <= 20, 'five requests in a row without an answer open it')
        }
        accepted.push(await post('t.txt'))
        // A run too: stored, its first advance waiting in the runs' outbox.
        const run = await fetch(`${piper.url}/v1/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pipeline: 'sums', input: 't.txt' }),
        })
        assert.equal(run.status, 202, await run.clone().text())
        const runId = ((await run.json()) as { id: string }).id
        const unready = await fetch(`${piper.url}/readyz`)
        assert.equal(unready.status, 503)
        assert.ok(((await unready.json()) as { failing: string[] }).failing.includes('queue'))
        assert.ok(
          piper
            .messages()
            .includes('the queue did not answer: the job waits in the outbox until it does'),
        )

        // Back on the same address: the circuit closes, and every accepted job runs, once.
        await queue.up()
        for (const id of accepted) assert.equal(await waitJob(piper.url, id), 'succeeded', id)
        assert.equal(await waitState(`${piper.url}/v1/runs/${runId}`), 'succeeded')
        while ((await queueCircuit()) !== '0') await sleep(50)
        const outputs = (await (await fetch(`${piper.url}/v1/files?prefix=t.txt.gz`)).json()) as {
          files: { name: string }[]
        }
        assert.deepEqual(
          outputs.files.map((f) => f.name),
          ['t.txt.gz'],
        )
      } finally {
        assert.equal(await piper.stop(), 0, piper.output())
        await queue.close()
      }
    })
  }

  // Its workers' fetches wait for a server that is gone, each until its request times out (ten
  // minutes here, so a shutdown that waited for them would not end within the test's bound).
  it('piper queue serve gone: SIGTERM still drains and stops piper up at once, with one signal', {
    timeout: 60_000,
  }, async () => {
    const queue = await queueServer()
    let piper: Awaited<ReturnType<typeof startPiper>> | undefined
    try {
      piper = await startPiper(['--queue', queue.url, '--queue-timeout-ms', '600000'])
      await queue.down()
      while (!piper.messages().includes('queue server unreachable; retrying')) {
        await sleep(50)
      }
      assert.equal(await piper.stop(), 0, piper.output())
      assert.ok(piper.messages().includes('workers stopped'), piper.output())
      assert.ok(!piper.messages().includes('second signal: exiting now'))
    } finally {
      piper?.child.kill('SIGKILL')
      await queue.close()
    }
  })
})
