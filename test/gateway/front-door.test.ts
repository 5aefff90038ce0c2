import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'
import { parseResponse, rawExchange, rawRequest } from '../helpers/raw-http.ts'

/**
 * The front door of a real `piper up`: no request, however malformed, ends the process, and
 * every answer is a well-formed HTTP response.
 */
describe('the gateway under hostile requests', () => {
  let piper: RunningPiper
  before(async () => {
    piper = await startPiper()
    // A stored file and a valid pipeline, so generated runs of it really start.
    await fetch(`${piper.url}/v1/files/fuzz/in.txt`, { method: 'PUT', body: 'fuzz input\n' })
    // An image, hashed, so variants, duplicates and statistics have something to work on.
    const png = await readFile(join(import.meta.dirname, '../fixtures/images/coins.png'))
    await fetch(`${piper.url}/v1/files/fuzz/img.png`, { method: 'PUT', body: png })
    await fetch(`${piper.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'image.hash', input: 'fuzz/img.png' }),
    })
    await fetch(`${piper.url}/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fuzz', steps: { a: { kind: 'hash' } } }),
    })
  })
  after(async () => {
    await piper.stop()
  })

  async function stillServing(): Promise<void> {
    assert.equal(piper.child.exitCode, null, `piper up exited: ${piper.output().slice(-2000)}`)
    const health = await fetch(`${piper.url}/healthz`)
    assert.equal(health.status, 200)
  }

  it('answers an absolute-form target with a bad port with 400 and keeps serving', async () => {
    const raw = await rawExchange(piper.url, 'GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n')
    const res = parseResponse(raw)
    assert.ok(res.status === 400 || res.status === 421, raw)
    assert.match(res.body, /"code":"E_/)
    await stillServing()
  })

  it('answers what the HTTP parser refuses with a JSON 400 and keeps serving', async () => {
    for (const bytes of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      'GET //a:99999/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    ]) {
      const res = parseResponse(await rawExchange(piper.url, bytes))
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} for ${bytes.slice(0, 40)}`)
      assert.match(res.body, /"code":"E_/)
    }
    await stillServing()
  })

  it('stays up through thousands of generated requests, each answered well-formed', async () => {
    const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/)
    const text = fc
      .string({ unit: 'binary-ascii', maxLength: 60 })
      .map((s) => s.replace(/[\r\n]/g, ''))
    const path = fc.oneof(
      fc.constantFrom(
        '/v1/files',
        '/v1/jobs',
        '/v1/events',
        '/v1/pipelines',
        '/v1/runs',
        '/v1/dlq',
        '/v1/kinds',
        '/v1/duplicates',
        '/v1/stats/images',
        '/v1/files/fuzz/img.png',
        '/v1/files/fuzz/img.png/duplicates',
        '/v1/files/fuzz/in.txt/duplicates',
        '/v1/tus',
        '/v1/tus/',
        '/v1/webhooks',
        '/v1/webhooks/wh_0123/deliveries',
        '/v1/webhooks/wh_0123/rotate',
        '/v1/tus/0123456789abcdef0123456789abcdef',
        '/files',
        '/healthz',
        '/',
        '*',
      ),
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              '..',
              '.',
              '',
              '%',
              '%zz',
              '%2e%2e',
              '%00',
              'v1',
              'files',
              'jobs',
              'events',
              'pipelines',
              'runs',
              'dlq',
              'redrive',
              'retry',
              'jobs.compress.dlq',
              'tus',
              'webhooks',
            ),
            token,
          ),
          {
            maxLength: 5,
          },
        )
        .map((parts) => `/${parts.join('/')}`),
      fc
        .constantFrom(
          '/v1/files/',
          '/v1/jobs/',
          '/v1/files/fuzz/',
          '/v1/pipelines/',
          '/v1/runs/',
          '/v1/dlq/',
          '/v1/tus/',
          '/v1/webhooks/',
        )
        .chain((p) => text.map((t) => p + encodeURIComponent(t))),
      text.map((t) => `http://${t}`),
    )
    const query = fc.option(
      fc.dictionary(
        fc.constantFrom(
          'limit',
          'cursor',
          'prefix',
          'state',
          'then',
          'pipeline',
          'version',
          'client_id',
          'name',
          'w',
          'h',
          'fit',
          'format',
          'q',
          'distance',
          'bucket',
          'from',
          'to',
        ),
        text,
        {
          maxKeys: 3,
        },
      ),
    )
    const header = fc.oneof(
      fc.tuple(
        fc.constant('range'),
        fc.oneof(
          text,
          fc.constantFrom(
            'bytes=0-',
            'bytes=-5',
            'bytes=5-1',
            'bytes=0-0,2-3',
            'bytes=99999999999999999999-',
          ),
        ),
      ),
      fc.tuple(
        fc.constant('last-event-id'),
        fc.oneof(text, fc.constantFrom('-1', '1e99', '99999999999999999999', '0')),
      ),
      fc.tuple(
        fc.constant('content-type'),
        fc.oneof(
          text,
          fc.constantFrom(
            'application/json',
            'multipart/form-data; boundary=x',
            'multipart/form-data',
            'text/plain',
          ),
        ),
      ),
      // tus 1.0 (/v1/tus/): its headers, well-formed and not.
      fc.tuple(
        fc.constantFrom(
          'tus-resumable',
          'upload-length',
          'upload-offset',
          'upload-metadata',
          'upload-checksum',
          'upload-concat',
          'upload-defer-length',
          'x-http-method-override',
        ),
        fc.oneof(
          text,
          fc.constantFrom(
            '1.0.0',
            '0',
            '1',
            '-1',
            '99999999999999999999',
            'filename Zm9v,then Y29tcHJlc3M=',
            'filename',
            'sha256 AAAA',
            'crc32 AAAAAA==',
            'partial',
            'final;/v1/tus/0123456789abcdef0123456789abcdef',
            'final;',
            'PATCH',
            'DELETE',
          ),
        ),
      ),
      fc.tuple(fc.constant('content-type'), fc.constant('application/offset+octet-stream')),
      fc.tuple(
        fc.constantFrom(
          'if-none-match',
          'if-range',
          'if-modified-since',
          'authorization',
          'idempotency-key',
          'origin',
          'sec-fetch-site',
          'expect',
          'transfer-encoding-x',
        ),
        text,
      ),
      fc.tuple(token, text),
    )
    const body = fc.oneof(
      fc.constant(''),
      text,
      fc.json(),
      fc
        .record({
          type: fc.constantFrom('compress', 'decompress', 'x'),
          input: text,
          output: fc.option(text, { nil: undefined }),
        })
        .map((o) => JSON.stringify(o)),
      // Pipelines, some valid and many not: unknown kinds, cycles, bad params and shapes.
      fc
        .record({
          name: fc.oneof(fc.constantFrom('fuzz', 'p-1'), text),
          steps: fc.dictionary(
            fc.oneof(fc.constantFrom('a', 'b', 'c'), text),
            fc.record(
              {
                kind: fc.oneof(fc.constantFrom('compress', 'hash', 'tar', 'extract', 'x'), text),
                use: fc.array(fc.oneof(fc.constantFrom(':input', 'a', 'b', 'c'), text), {
                  maxLength: 3,
                }),
                params: fc.oneof(
                  fc.constant({}),
                  fc.json().map((j) => JSON.parse(j)),
                ),
                shards: fc.oneof(fc.integer({ min: -2, max: 80 }), text),
                on_failure: fc.constantFrom('fail', 'continue', 'ignore', 'retry'),
                output: text,
              },
              { requiredKeys: ['kind'] },
            ),
            { maxKeys: 4 },
          ),
        })
        .map((o) => JSON.stringify(o)),
      fc
        .record({
          pipeline: fc.oneof(fc.constantFrom('fuzz', 'p-1'), text),
          input: fc.oneof(fc.constant('fuzz/in.txt'), text),
          inputs: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
          version: fc.option(fc.integer({ min: -1, max: 3 }), { nil: undefined }),
        })
        .map((o) => JSON.stringify(o)),
      // Webhooks: targets public, private and malformed (no name here resolves: the lookups
      // fail at once), events known and not.
      fc
        .record({
          url: fc.oneof(
            fc.constantFrom(
              'http://127.0.0.1:9/x',
              'http://169.254.169.254/',
              'https://93.184.216.34/hook',
              'http://[::ffff:10.0.0.1]/',
              'ftp://93.184.216.34/',
              'http://u:p@93.184.216.34/',
            ),
            text,
          ),
          events: fc.oneof(
            fc.array(fc.constantFrom('file.created', 'job.*', '*', 'run.done', 'x'), {
              maxLength: 3,
            }),
            text,
          ),
        })
        .map((o) => JSON.stringify(o)),
      fc
        .tuple(text, text)
        .map(
          ([name, data]) =>
            `--x\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n\r\n${data}\r\n--x--\r\n`,
        ),
    )
    const request = fc.record({
      method: fc.oneof(
        fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'),
        token,
      ),
      path,
      query,
      headers: fc.array(header, { maxLength: 4 }),
      body,
    })
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, query, headers, body }) => {
        const search = query ? `?${new URLSearchParams(query)}` : ''
        const lines = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')
        const bytes = Buffer.from(
          `${method} ${path}${search} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${lines}` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        )
        const raw = await rawExchange(piper.url, bytes)
        // A HEAD answer has no body; anything else is one whole response.
        const res = parseResponse(raw, method === 'HEAD')
        assert.ok(res.status >= 100 && res.status < 600)
        if (res.status >= 500)
          assert.fail(`a 5xx for ${bytes.toString('latin1').slice(0, 300)}: ${raw}`)
      }),
      { numRuns: Number(process.env.PIPER_FUZZ_RUNS ?? 2000) },
    )
    await stillServing()
  })

  it('names the problem of a request it refuses in JSON', async () => {
    const res = await rawRequest(piper.url, { target: '/v1/files/a/../b' })
    assert.equal(res.status, 400)
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'E_FILE_NAME')
  })
})

it('a client that never finishes its headers (slowloris) gets 408 E_TIMEOUT and is closed', async () => {
  const piper = await startPiper([], { PIPER_HEADERS_TIMEOUT_MS: '1000' })
  try {
    // Half a request, never finished: the server must end it, not wait forever.
    const raw = await rawExchange(
      piper.url,
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n',
    )
    const res = parseResponse(raw)
    assert.equal(res.status, 408)
    assert.match(res.body, /"code":"E_TIMEOUT"/)
    assert.equal((await fetch(`${piper.url}/healthz`)).status, 200)
  } finally {
    await piper.stop()
  }
})

it('property: uploads pipelined on one connection, their bytes sharing socket reads, are each stored whole (an upload frees its reads as it copies them)', async () => {
  // 64 KiB chunks: bodies of several chunks, cut wherever the socket's reads fall.
  const piper = await startPiper(['--chunk-size', '64K'])
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 500, max: 70_000 }),
        fc.nat(),
        async (sizes, writeSize, seed) => {
          const bodies = sizes.map((size, i) => randomBody(size, seed + i))
          const names = bodies.map((_, i) => `pipelined/${seed}-${i}`)
          const requests = bodies.map((body, i) =>
            Buffer.concat([
              Buffer.from(
                `PUT /v1/files/${names[i]} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n${i === bodies.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
              ),
              body,
            ]),
          )
          const raw = await pipelined(piper.url, Buffer.concat(requests), writeSize)
          assert.equal(raw.match(/HTTP\/1\.1 201 /g)?.length, bodies.length, raw.slice(0, 500))
          for (const [i, body] of bodies.entries()) {
            const stored = await fetch(`${piper.url}/v1/files/${names[i]}`)
            assert.equal(stored.status, 200)
            assert.ok(Buffer.from(await stored.arrayBuffer()).equals(body), `${names[i]} differs`)
          }
        },
      ),
      { numRuns: 6 },
    )
  } finally {
    await piper.stop()
  }
})

/** Bytes that differ from one body to the next (a seeded xorshift), so a mix-up shows. */
function randomBody(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size)
  let x = (seed | 0) + 0x9e3779b9 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Writes `bytes` over one connection in pieces of `size`, each after the last was taken. */
function pipelined(url: string, bytes: Buffer, size: number): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    const pieces: Buffer[] = []
    socket.on('data', (piece: Buffer) => pieces.push(piece))
    socket.once('error', reject)
    socket.once('close', () => resolve(Buffer.concat(pieces).toString('latin1')))
    const writeFrom = (at: number): void => {
      if (at >= bytes.length) return
      socket.write(bytes.subarray(at, at + size), () => setImmediate(() => writeFrom(at + size)))
    }
    socket.once('connect', () => writeFrom(0))
  })
}
