import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
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
