import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv } from 'ajv'
import { startPiper } from '../helpers/piper-server.ts'

interface Operation {
  requestBody?: {
    content: Record<string, { schema?: { oneOf?: { properties: Record<string, unknown> }[] } }>
  }
}

it("/v1/openapi.json: a valid OpenAPI 3.1 description of every route piper up serves, job params from the kinds' own schemas", async () => {
  const piper = await startPiper()
  try {
    const res = await fetch(`${piper.url}/v1/openapi.json`)
    assert.equal(res.status, 200)
    const doc = (await res.json()) as {
      openapi: string
      paths: Record<string, Record<string, Operation>>
      'x-undocumented'?: string[]
    }
    assert.equal(doc.openapi, '3.1.0')
    const validator = new Validator()
    const result = await validator.validate(doc as unknown as Record<string, unknown>)
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2))
    assert.deepEqual(doc['x-undocumented'] ?? [], [], 'every route the router serves is described')
    for (const path of [
      '/v1/files/{name}',
      '/v1/tus/{id}',
      '/v1/webhooks',
      '/v1/stats',
      '/readyz',
    ]) {
      assert.ok(doc.paths[path], path)
    }
    // The request of POST /v1/jobs: one shape per kind, its params the schema the kind checks.
    const kinds = (await (await fetch(`${piper.url}/v1/kinds`)).json()) as {
      kinds: { name: string; params: unknown }[]
    }
    const shapes =
      doc.paths['/v1/jobs']!.post!.requestBody!.content['application/json']!.schema!.oneOf!
    assert.equal(shapes.length, kinds.kinds.length)
    for (const kind of kinds.kinds) {
      const shape = shapes.find((s) => (s.properties.type as { const: string }).const === kind.name)
      assert.deepEqual(shape?.properties.params, kind.params, kind.name)
    }
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})

it('what the gateway answers fits the schemas /v1/openapi.json publishes (those the CLI takes its types from)', async () => {
  const piper = await startPiper([], { PIPER_WEBHOOK_ALLOW_PRIVATE: 'true' })
  const base = piper.url
  try {
    const doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as Record<string, unknown>
    // The document as a schema whose components the answers are checked against; formats are
    // the document's to describe, not this check's.
    const ajv = new Ajv({ strict: false, validateFormats: false })
    ajv.addSchema({ ...doc, $id: 'piper' })
    const fits = (name: string, value: unknown) => {
      const validate = ajv.getSchema(`piper#/components/schemas/${name}`)!
      assert.ok(
        validate(value),
        `${name}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value)}`,
      )
    }
    const send = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      })
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`)
      return res.json() as Promise<Record<string, unknown>>
    }
    const until = async (path: string, done: (body: Record<string, unknown>) => boolean) => {
      for (;;) {
        const body = await send('GET', path)
        if (done(body)) return body
        await sleep(50)
      }
    }

    const put = await fetch(`${base}/v1/files/a/text.txt`, {
      method: 'PUT',
      body: 'a b c\n'.repeat(9000),
    })
    fits('File', await put.json())
    fits('File', ((await send('GET', '/v1/files?prefix=a/')).files as unknown[])[0])
    const job = await send('POST', '/v1/jobs', { type: 'compress', input: 'a/text.txt' })
    fits('Job', job)
    const ended = (body: Record<string, unknown>) =>
      body.state === 'succeeded' || body.state === 'failed'
    fits('Job', await until(`/v1/jobs/${job.id}`, ended))
    const hashed = await send('POST', '/v1/jobs', { type: 'hash', input: 'a/text.txt' })
    fits('Job', await until(`/v1/jobs/${hashed.id}`, ended))
    fits(
      'Pipeline',
      await send('POST', '/v1/pipelines', {
        name: 'two',
        steps: { gz: { kind: 'compress' }, sums: { kind: 'hash', use: ['gz'] } },
      }),
    )
    const run = await send('POST', '/v1/runs', { pipeline: 'two', input: 'a/text.txt' })
    fits('Run', run)
    fits('Run', await until(`/v1/runs/${run.id}`, ended))
    fits('Run', ((await send('GET', '/v1/runs')).runs as unknown[])[0])
    fits(
      'Schedule',
      await send('POST', '/v1/schedules', {
        name: 'nightly',
        cron: '0 3 * * *',
        pipeline: 'two',
        input: 'a/text.txt',
      }),
    )
    fits('Schedule', await send('GET', '/v1/schedules/nightly'))
    fits(
      'Webhook',
      await send('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['job.*'] }),
    )
    const usage = await until(
      '/v1/stats?bucket=minute',
      (b) => b.behind === 0 && (b.totals as { uploads: number }).uploads > 0,
    )
    fits('Usage', usage)
    fits('Usage', await send('GET', '/v1/admin/stats?bucket=day'))
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
