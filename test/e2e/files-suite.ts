import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it, type TestContext } from 'node:test'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { throughFifo } from '../helpers/fifo.ts'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'

const CHUNK = 64 * 1024

export interface FilesSuiteOptions {
  /** Extra `piper up` flags selecting the metadata store; undefined skips (server absent). */
  metaArgs: (t?: TestContext) => Promise<string[] | undefined>
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Counts chunk blobs in a data folder (not the temporary ones). */
async function blobCount(data: string): Promise<number> {
  let n = 0
  const root = join(data, 'blobs')
  for (const a of await readdir(root)) {
    if (a === 'tmp') continue
    for (const b of await readdir(join(root, a))) n += (await readdir(join(root, a, b))).length
  }
  return n
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.fail(`timed out waiting for ${what}`)
}

/** The JSON bodies this API answers with, loosely: each test reads the fields it checks. */
interface ApiBody {
  files: { name: string; size: number; created: string }[]
  next_cursor: string | null
  name?: string
  data?: string
}

async function json(res: Response | Promise<Response>): Promise<ApiBody> {
  return (await (await res).json()) as ApiBody
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } }
  return { status: res.status, ...body.error }
}

/** The files API end to end over HTTP against a real `piper up`. */
export function runFilesSuite(name: string, options: FilesSuiteOptions): void {
  describe(`files end to end: ${name}`, () => {
    let piper: RunningPiper | undefined
    let url = ''
    const put = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
      fetch(`${url}/v1/files/${path}`, { method: 'PUT', body, headers })

    before(async () => {
      const meta = await options.metaArgs()
      if (!meta) return
      piper = await startPiper(['--chunk-size', String(CHUNK), ...meta])
      url = piper.url
    })
    after(async () => {
      if (piper) assert.equal(await piper.stop(), 0, piper.output())
    })

    async function ready(t: TestContext): Promise<boolean> {
      if (piper) return true
      await options.metaArgs(t)
      return false
    }

    it('stores and returns sizes around chunk boundaries byte for byte', async (t) => {
      if (!(await ready(t))) return
      for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1]) {
        const bytes = randomBytes(size)
        const res = await put(`sizes/${size}.bin`, bytes)
        assert.equal(res.status, 201)
        assert.equal(res.headers.get('location'), `/v1/files/sizes/${size}.bin`)
        assert.deepEqual(await res.json(), {
          name: `sizes/${size}.bin`,
          size,
          sha256: sha256(bytes),
          chunks: Math.ceil(size / CHUNK),
          content_type: 'application/octet-stream',
          created: (await json(fetch(`${url}/v1/files?prefix=sizes/${size}.bin`))).files[0]!
            .created,
        })
        const got = await fetch(`${url}/v1/files/sizes/${size}.bin`)
        assert.equal(got.status, 200)
        assert.equal(got.headers.get('content-length'), String(size))
        assert.equal(got.headers.get('etag'), `"${sha256(bytes)}"`)
        assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes)
        const head = await fetch(`${url}/v1/files/sizes/${size}.bin`, { method: 'HEAD' })
        assert.equal(head.headers.get('content-length'), String(size))
      }
    })

    it('serves single ranges, 416 outside, the whole file for several, and 304 on a match', async (t) => {
      if (!(await ready(t))) return
      const bytes = randomBytes(3 * CHUNK + 123)
      await put('ranged.bin', bytes)
      const at = `${url}/v1/files/ranged.bin`
      const cases: [string, number, number][] = [
        ['bytes=0-0', 0, 0],
        [`bytes=${CHUNK - 1}-${CHUNK}`, CHUNK - 1, CHUNK],
        ['bytes=100-', 100, bytes.length - 1],
        ['bytes=-500', bytes.length - 500, bytes.length - 1],
        [`bytes=5-${bytes.length + 1000}`, 5, bytes.length - 1],
      ]
      for (const [range, start, end] of cases) {
        const res = await fetch(at, { headers: { range } })
        assert.equal(res.status, 206, range)
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`)
        assert.deepEqual(
          Buffer.from(await res.arrayBuffer()),
          bytes.subarray(start, end + 1),
          range,
        )
      }
      const outside = await fetch(at, { headers: { range: `bytes=${bytes.length}-` } })
      assert.equal(outside.status, 416)
      assert.equal(outside.headers.get('content-range'), `bytes */${bytes.length}`)
      assert.equal((await errorOf(outside)).code, 'E_RANGE')
      const several = await fetch(at, { headers: { range: 'bytes=0-1,5-6' } })
      assert.equal(several.status, 200)
      assert.equal((await several.arrayBuffer()).byteLength, bytes.length)
      const etag = `"${sha256(bytes)}"`
      const cached = await fetch(at, { headers: { 'if-none-match': `"other", ${etag}` } })
      assert.equal(cached.status, 304)
      const stale = await fetch(at, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } })
      assert.equal(stale.status, 200, 'If-Range that does not match sends the whole file')
      await stale.arrayBuffer()
    })

    it('streams a few hundred MiB up and down with the same sha256', async (t) => {
      if (!(await ready(t))) return
      const size = 300 * 2 ** 20
      const block = randomBytes(2 ** 20)
      const sent = createHash('sha256')
      // Generated as it is sent: each MiB differs in its first bytes, so nothing deduplicates.
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < size / block.length; i++) {
            const piece = Buffer.from(block)
            piece.writeUInt32BE(i, 0)
            sent.update(piece)
            yield piece
          }
        })(),
      )
      const stored = await new Promise<{ size: number; sha256: string }>((resolve, reject) => {
        const req = request(`${url}/v1/files/big.bin`, { method: 'PUT' }, (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (d: string) => {
            text += d
          })
          res.on('end', () => resolve(JSON.parse(text)))
        })
        req.on('error', reject)
        body.pipe(req)
      })
      const digest = sent.digest('hex')
      assert.equal(stored.size, size)
      assert.equal(stored.sha256, digest)
      const res = await fetch(`${url}/v1/files/big.bin`)
      const received = createHash('sha256')
      let length = 0
      for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
        received.update(piece)
        length += piece.length
      }
      assert.equal(length, size)
      assert.equal(received.digest('hex'), digest)
      assert.equal((await fetch(`${url}/v1/files/big.bin`, { method: 'DELETE' })).status, 204)
    })

    it('an upload cut off midway leaves no file and no chunks', async (t) => {
      if (!(await ready(t)) || !piper) return
      const before = await blobCount(piper.data)
      await new Promise<void>((resolve) => {
        const req = request(`${url}/v1/files/cut.bin`, {
          method: 'PUT',
          headers: { 'content-length': String(10 * CHUNK) },
        })
        req.on('error', () => resolve())
        req.write(randomBytes(4 * CHUNK + 17), () => setTimeout(() => req.destroy(), 200))
      })
      await waitFor(async () => (await blobCount(piper!.data)) === before, 'chunks to be freed')
      assert.equal((await fetch(`${url}/v1/files/cut.bin`)).status, 404)
      const listed = await json(fetch(`${url}/v1/files?prefix=cut`))
      assert.deepEqual(listed.files, [])
    })

    it('the CLI puts, lists, gets and removes files; -o keeps files and pipes safe', async (t) => {
      if (!(await ready(t)) || !piper) return
      const dir = mkdtempSync(join(tmpdir(), 'piper-files-cli-'))
      const bytes = randomBytes(3 * CHUNK + 11)
      writeFileSync(join(dir, 'in.bin'), bytes)
      const cli = (...args: string[]) => runPiper(args, { env: cleanEnv({ PIPER_URL: url }) })

      const put = await cli('put', join(dir, 'in.bin'), 'cli/in.bin')
      assert.equal(put.code, 0, put.stderr)
      assert.equal(JSON.parse(put.stdout).sha256, sha256(bytes))
      const listed = await cli('ls', 'cli/')
      assert.match(listed.stdout, /cli\/in\.bin/)

      const out = join(dir, 'out.bin')
      assert.equal((await cli('get', 'cli/in.bin', '-o', out)).code, 0)
      assert.ok(readFileSync(out).equals(bytes))
      const again = await cli('get', 'cli/in.bin', '-o', out)
      assert.notEqual(again.code, 0)
      assert.match(again.stderr, /already exists; use --force/)
      assert.equal((await cli('get', 'cli/in.bin', '-o', out, '--force')).code, 0)

      // A pipe is written into, not replaced by a file (as /dev/null would be).
      const read = await throughFifo(join(dir, 'out.fifo'), async (fifo) => {
        assert.equal((await cli('get', 'cli/in.bin', '-o', fifo)).code, 0)
      })
      assert.ok(read.equals(bytes))

      assert.equal((await cli('rm', 'cli/in.bin')).code, 0)
      const gone = await cli('get', 'cli/in.bin')
      assert.notEqual(gone.code, 0)
      assert.match(gone.stderr, /no file named/)
    })

    it('a download cut off midway leaves the gateway serving, and the file whole', async (t) => {
      if (!(await ready(t)) || !piper) return
      // Larger than the socket buffers, so the gateway is mid-file when the client leaves.
      const bytes = randomBytes(64 * CHUNK + 5)
      await put('cut-download.bin', bytes)
      for (let round = 0; round < 3; round++) {
        await new Promise<void>((resolve) => {
          const req = request(`${url}/v1/files/cut-download.bin`, (res) => {
            res.once('data', () => {
              req.destroy()
              resolve()
            })
          })
          req.on('error', () => resolve())
          req.end()
        })
      }
      const whole = await fetch(`${url}/v1/files/cut-download.bin`)
      assert.equal(whole.status, 200)
      assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), sha256(bytes))
    })

    it('stores the same content under two names once; replaces and deletes', async (t) => {
      if (!(await ready(t)) || !piper) return
      const bytes = randomBytes(3 * CHUNK)
      const before = await blobCount(piper.data)
      await put('dup/a', bytes)
      await put('dup/b', bytes)
      assert.equal(await blobCount(piper.data), before + 3)
      const next = randomBytes(100)
      assert.equal((await put('dup/a', next)).status, 201)
      assert.deepEqual(
        Buffer.from(await (await fetch(`${url}/v1/files/dup/a`)).arrayBuffer()),
        next,
      )
      await fetch(`${url}/v1/files/dup/a`, { method: 'DELETE' })
      await fetch(`${url}/v1/files/dup/b`, { method: 'DELETE' })
      assert.equal(await blobCount(piper.data), before)
      const again = await fetch(`${url}/v1/files/dup/b`, { method: 'DELETE' })
      assert.deepEqual(await errorOf(again), {
        status: 404,
        code: 'E_FILE_NOT_FOUND',
        message: 'no file named "dup/b"',
      })
    })

    it('lists with a prefix and stable pages', async (t) => {
      if (!(await ready(t))) return
      const names = Array.from({ length: 7 }, (_, i) => `list/f${i}`)
      for (const n of names) await put(n, Buffer.from(n))
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const query: string = `prefix=list/&limit=3${cursor ? `&cursor=${cursor}` : ''}`
        const page = await json(fetch(`${url}/v1/files?${query}`))
        assert.ok(page.files.length <= 3)
        seen.push(...page.files.map((f) => f.name))
        cursor = page.next_cursor
      } while (cursor)
      assert.deepEqual(seen, names)
    })

    it('takes multipart/form-data uploads', async (t) => {
      if (!(await ready(t))) return
      const form = new FormData()
      const bytes = randomBytes(CHUNK + 5)
      form.append('name', 'form/named.bin')
      form.append('file', new Blob([bytes]), 'ignored.bin')
      form.append('file', new Blob([Buffer.from('second')], { type: 'text/plain' }), 'second.txt')
      const res = await fetch(`${url}/v1/files`, { method: 'POST', body: form })
      assert.equal(res.status, 201)
      const body = await json(res)
      assert.deepEqual(
        body.files.map((f) => [f.name, f.size]),
        [
          ['form/named.bin', CHUNK + 5],
          ['second.txt', 6],
        ],
      )
      const got = await fetch(`${url}/v1/files/second.txt`)
      assert.equal(got.headers.get('content-type'), 'text/plain')
    })

    it('keeps the first-design API: POST /files and GET /files', async (t) => {
      if (!(await ready(t))) return
      const data = randomBytes(1000)
      const post = (body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${url}/files`, {
          method: 'POST',
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...headers },
        })
      const ok = await post({
        client_id: 'default',
        name: 'old.bin',
        data: data.toString('base64'),
      })
      assert.equal(ok.status, 200)
      const got = await fetch(`${url}/files?client_id=default&name=old.bin`)
      assert.deepEqual(await got.json(), { name: 'old.bin', data: data.toString('base64') })
      const v1 = await fetch(`${url}/v1/files/old.bin`)
      assert.deepEqual(Buffer.from(await v1.arrayBuffer()), data)

      const bad: [unknown, number, RegExp][] = [
        [{ name: 'x', data: '' }, 400, /client_id is required/],
        [{ client_id: 'default', data: '' }, 400, /name is required/],
        [{ client_id: 'default', name: 'x' }, 400, /data is required/],
        [{ client_id: 'default', name: 'x', data: 'not base64!' }, 400, /base64/],
        [{ client_id: 'default', name: '../x', data: '' }, 400, /"\.\." segment/],
        [{ client_id: 'someone-else', name: 'x', data: '' }, 403, /client_id does not match/],
        ['{"client_id": ', 400, /not JSON/],
        ['[1, 2]', 400, /JSON object/],
      ]
      // A body not declared JSON is refused: a web page can send text/plain anywhere.
      const plain = await post(
        { client_id: 'default', name: 'x', data: '' },
        { 'content-type': 'text/plain' },
      )
      assert.equal((await errorOf(plain)).status, 415)
      for (const [body, status, message] of bad) {
        const res = await post(body)
        const error = await errorOf(res)
        assert.equal(error.status, status, JSON.stringify(body))
        assert.match(error.message, message)
      }
      assert.equal((await fetch(`${url}/files?name=old.bin`)).status, 400)
      assert.equal((await fetch(`${url}/files?client_id=default`)).status, 400)
      assert.equal((await fetch(`${url}/files?client_id=default&name=missing`)).status, 404)
      assert.equal((await fetch(`${url}/files?client_id=other&name=old.bin`)).status, 403)
    })

    it('answers bad requests with a status and a message saying what is wrong', async (t) => {
      if (!(await ready(t))) return
      const raw = (method: string, path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          // By host and path: a URL would have its `..` segments resolved before sending.
          const { hostname, port } = new URL(url)
          const req = request({ host: hostname, port, path, method }, (res) => {
            let body = ''
            res.setEncoding('utf8').on('data', (d: string) => {
              body += d
            })
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
          })
          req.on('error', reject)
          req.end(method === 'PUT' || method === 'POST' ? 'x' : undefined)
        })
      const cases: [string, string, number, RegExp][] = [
        ['PUT', '/v1/files/a/../b', 400, /"\.\." segment/],
        ['PUT', '/v1/files/a/%2e%2e/b', 400, /"\.\." segment/],
        ['PUT', '/v1/files/a//b', 400, /empty segment/],
        ['PUT', '/v1/files/tab%09name', 400, /U\+0009/],
        ['PUT', `/v1/files/${'n'.repeat(1025)}`, 400, /1025 bytes/],
        ['PUT', '/v1/files/%ZZ', 400, /percent-encoding/],
        ['GET', '/v1/files/never-stored', 404, /no file named/],
        ['PATCH', '/v1/files/x', 405, /PATCH is not allowed/],
        ['GET', '/v2/nothing', 404, /no route/],
        ['GET', '/v1/files?limit=0', 400, /limit/],
        ['GET', '/v1/files?cursor=%%%', 400, /cursor/],
        // A NUL must not reach the database (PostgreSQL answered 500).
        ['GET', '/v1/files?cursor=AA', 400, /cursor/],
        ['GET', '/v1/files?prefix=a%00b', 400, /prefix/],
        ['GET', `/v1/files?prefix=${'p'.repeat(1025)}`, 400, /prefix/],
        ['POST', '/v1/files', 415, /multipart\/form-data/],
      ]
      for (const [method, path, status, message] of cases) {
        const res = await raw(method, path)
        assert.equal(res.status, status, `${method} ${path}: ${res.body}`)
        assert.match(JSON.parse(res.body).error.message, message, `${method} ${path}`)
      }
      const noBoundary = await fetch(`${url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data' },
        body: 'abc',
      })
      assert.equal(noBoundary.status, 400)
      assert.match(
        ((await noBoundary.json()) as { error: { message: string } }).error.message,
        /boundary/,
      )
      const form = await fetch(`${url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
        body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\ntrunc',
      })
      assert.equal(form.status, 400)
      assert.equal((await fetch(`${url}/v1/files/form-cut`)).status, 404)
    })
  })
}

/** Tenancy with API keys, on its own `piper up` (keys, once created, apply to every request). */
export function runTenancySuite(name: string, options: FilesSuiteOptions): void {
  it(`tenancy: a client cannot see, list or overwrite another's files (${name})`, async (t) => {
    const meta = await options.metaArgs(t)
    if (!meta) return
    // Keys live in the metadata store: create them before the gateway starts, in its data folder.
    const first = await startPiper(meta)
    const env = cleanEnv({ PIPER_DATA: first.data })
    await first.stop()
    const refused = await runPiper(['up', '--host', '0.0.0.0', '--port', '0', ...meta], { env })
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0 without API keys/)
    const alice = (await runPiper(['keys', 'create', 'alice', ...meta], { env })).stdout.trim()
    const bob = (await runPiper(['keys', 'create', 'bob', ...meta], { env })).stdout.trim()
    assert.match(alice, /^pk_[A-Za-z0-9_-]{43}$/)
    const listed = await runPiper(['keys', 'ls', ...meta], { env })
    assert.match(listed.stdout, /^alice\t[0-9a-f]{12}\t/m)
    assert.ok(!listed.stdout.includes(alice), 'keys ls never shows a key')
    const piper = await startPiper(['--host', '0.0.0.0', '--data', first.data, ...meta])
    try {
      const as = (key: string | undefined, path: string, init: RequestInit = {}) =>
        fetch(`${piper.url.replace('0.0.0.0', '127.0.0.1')}${path}`, {
          ...init,
          headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
        })
      assert.equal((await as(undefined, '/v1/files')).status, 401)
      assert.equal((await as('pk_wrong', '/v1/files')).status, 401)
      assert.equal((await as(alice, '/v1/files/secret', { method: 'PUT', body: 'A' })).status, 201)
      assert.equal((await as(bob, '/v1/files/secret')).status, 404)
      assert.equal((await as(bob, '/v1/files/secret', { method: 'DELETE' })).status, 404)
      assert.deepEqual((await json(as(bob, '/v1/files'))).files, [])
      assert.equal((await as(bob, '/files?client_id=alice&name=secret')).status, 403)
      assert.equal((await as(bob, '/v1/files/secret', { method: 'PUT', body: 'B' })).status, 201)
      assert.equal(await (await as(alice, '/v1/files/secret')).text(), 'A')
      assert.equal(await (await as(bob, '/v1/files/secret')).text(), 'B')
      const legacy = await as(alice, '/files?client_id=alice&name=secret')
      assert.equal((await json(legacy)).data, Buffer.from('A').toString('base64'))
    } finally {
      assert.equal(await piper.stop(), 0)
    }
  })
}
