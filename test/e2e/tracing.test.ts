import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRole } from '../helpers/piper-server.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { startQueueServer } from '../helpers/queue-server.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

after(dropTestSchemas)

interface Span {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  service: string
}

/** An OTLP/HTTP receiver (JSON, as the SDK's exporter sends it): every span it was sent. */
async function otlpReceiver() {
  const spans: Span[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (p: Buffer) => parts.push(p))
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(parts).toString()) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] }
            scopeSpans: { spans: Omit<Span, 'service'>[] }[]
          }[]
        }
        for (const rs of body.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service })
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

it('tracing: one trace runs from the upload through the gateway and every step on a worker process, and their log lines carry its trace_id', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const receiver = await otlpReceiver()
  const dir = await mkdtemp(join(tmpdir(), 'piper-tracing-'))
  const queue = await startQueueServer(dir)
  const nodes = await startStorageNodes(2)
  const shared = [
    '--meta',
    freshPostgresUrl(),
    '--queue',
    queue.url,
    '--blobs',
    `nodes://${nodes.addresses.join(',')}`,
    '--chunk-size',
    '64K',
  ]
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' }
  const started: { stop(): Promise<unknown> }[] = [queue, nodes]
  try {
    const gateway = await startRole('gateway', shared, env)
    started.unshift(gateway)
    const worker = await startRole('worker', shared, env)
    started.unshift(worker)
    const save = await fetch(`${gateway.url}/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'traced',
        steps: { gz: { kind: 'compress' }, sum: { kind: 'hash', use: ['gz'] } },
      }),
    })
    assert.equal(save.status, 201, await save.clone().text())
    // The client's own trace: the gateway joins it (W3C traceparent).
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const put = await fetch(`${gateway.url}/v1/files/t/in.txt?pipeline=traced`, {
      method: 'PUT',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: 'trace me\n'.repeat(30_000),
    })
    assert.equal(put.status, 201, await put.clone().text())
    const { run } = (await put.json()) as { run: { id: string } }
    for (;;) {
      const state = (
        (await (await fetch(`${gateway.url}/v1/runs/${run.id}`)).json()) as {
          state: string
        }
      ).state
      if (state === 'succeeded') break
      assert.ok(state === 'queued' || state === 'running', state)
      await sleep(50)
    }
    // Wait for the worker's spans of both steps to arrive (batched every 100 ms).
    const ofTrace = () => receiver.spans.filter((s) => s.traceId === traceId)
    const has = (pred: (s: Span) => boolean) => ofTrace().some(pred)
    while (
      !(
        has((s) => s.service === 'piper-worker' && s.name === 'jobs.compress process') &&
        has((s) => s.service === 'piper-worker' && s.name === 'jobs.hash process')
      )
    ) {
      await sleep(50)
    }
    const spans = ofTrace()
    const server = spans.find((s) => s.service === 'piper-gateway' && s.name === 'PUT /v1/files/*')
    assert.ok(server, JSON.stringify(spans.map((s) => [s.service, s.name])))
    assert.equal(server.parentSpanId, '00f067aa0ba902b7', 'the gateway joined the caller')
    // Every worker span descends from the upload's: one trace across the processes.
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    for (const span of spans.filter((s) => s.service === 'piper-worker')) {
      let at: Span | undefined = span
      while (at && at !== server) at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined
      assert.equal(at, server, `${span.name} descends from the upload`)
    }
    const logged = worker
      .output()
      .split('\n')
      .filter((line) => line.includes(`"trace_id":"${traceId}"`))
    assert.ok(logged.length > 0, 'the worker logs lines with the trace id')
  } finally {
    for (const running of started) await running.stop()
    await receiver.close()
  }
})
