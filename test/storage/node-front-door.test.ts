import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { parseResponse, rawExchange } from '../helpers/raw-http.ts'
import { type RunningNode, startStorageNode } from '../helpers/storage-nodes.ts'

/**
 * The storage node's front door, as a real `piper storage serve` process: no request, however
 * malformed, ends it, every answer is one well-formed HTTP response, and nothing but a blob
 * whose bytes match its declared sha256 is ever stored.
 */
describe('a storage node under hostile requests', () => {
  let node: RunningNode
  before(async () => {
    node = await startStorageNode({ env: { PIPER_STORAGE_TOKEN: 'a-token-of-the-fuzz-test' } })
  })
  after(async () => {
    assert.equal(await node.stop(), 0, node.output())
  })

  it('stays up through thousands of generated requests, and stores only what hashes right', async () => {
    const text = fc
      .string({ unit: 'binary-ascii', maxLength: 40 })
      .map((s) => s.replace(/[\r\n]/g, ''))
    const key = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.constantFrom('..', '%2e%2e', 'a', '', 'x'.repeat(300), '%00', 'ab/cd'),
      text.map(encodeURIComponent),
    )
    const request = fc.record({
      method: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'),
      path: fc.oneof(
        key.map((k) => `/v1/blobs/${k}`),
        fc.constantFrom(
          '/v1/blobs',
          '/v1/node',
          '/metrics',
          '/livez',
          '/',
          '/v1/blobs?prefix=&limit=-1&after=%ff',
        ),
        text.map((t) => `/${encodeURIComponent(t)}`),
      ),
      auth: fc.oneof(fc.constant('Bearer a-token-of-the-fuzz-test'), fc.constant(''), text),
      hash: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[0-9a-f]{64}$/), text),
      range: fc.option(
        fc.constantFrom('bytes=0-3', 'bytes=5-1', 'bytes=-9', 'bytes=0-99999999999'),
        { nil: undefined },
      ),
      body: fc.uint8Array({ maxLength: 300 }),
      // Never longer than the body: the node would wait for the rest (as it should).
      lengthDelta: fc.constantFrom(0, 0, 0, -1),
    })
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = [
          'Host: 127.0.0.1',
          'Connection: close',
          ...(r.auth ? [`Authorization: ${r.auth}`] : []),
          ...(r.hash !== undefined ? [`x-piper-sha256: ${r.hash}`] : []),
          ...(r.range ? [`Range: ${r.range}`] : []),
          `Content-Length: ${Math.max(0, r.body.length + r.lengthDelta)}`,
        ]
        const head = Buffer.from(
          `${r.method} ${r.path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`,
          'latin1',
        )
        const raw = await rawExchange(`http://${node.address}`, Buffer.concat([head, r.body]))
        const res = parseResponse(raw, r.method === 'HEAD')
        assert.ok(res.status >= 100 && res.status < 600)
        assert.ok(
          res.status < 500,
          `a ${res.status} for ${head.toString('latin1').slice(0, 200)}: ${raw.slice(0, 300)}`,
        )
        if (r.method === 'PUT' && r.path.startsWith('/v1/blobs/') && res.status < 300) {
          assert.equal(
            r.hash,
            createHash('sha256').update(r.body).digest('hex'),
            'stored only with its true hash',
          )
        }
      }),
      { numRuns: Number(process.env.PIPER_FUZZ_RUNS ?? 1500) },
    )
    assert.equal(node.child.exitCode, null, node.output().slice(-2000))
    assert.equal((await fetch(`http://${node.address}/livez`)).status, 200)
  })
})
