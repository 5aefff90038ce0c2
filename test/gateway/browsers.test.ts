import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'
import { type RawResponse, rawRequest } from '../helpers/raw-http.ts'

const EVIL = 'http://evil.test'
const APP = 'http://app.example:3000'

function codeOf(res: RawResponse): string {
  return (JSON.parse(res.body) as { error: { code: string } }).error.code
}

const form = (name: string, data: string) =>
  `--x\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/html\r\n\r\n${data}\r\n--x--\r\n`

/** A keyless loopback gateway is the ambient authority of this machine: pages may not use it. */
describe('the gateway and web pages on other sites', () => {
  let piper: RunningPiper
  let host: string
  before(async () => {
    piper = await startPiper([], {
      PIPER_CORS_ORIGINS: APP,
      PIPER_INLINE_HOSTS: 'usercontent.test',
    })
    host = new URL(piper.url).host
  })
  after(async () => {
    await piper.stop()
  })

  it('refuses a multipart upload from another origin, and stores nothing', async () => {
    const res = await rawRequest(piper.url, {
      method: 'POST',
      target: '/v1/files',
      headers: { origin: EVIL, 'content-type': 'multipart/form-data; boundary=x' },
      body: form('evil.html', '<script>alert(1)</script>'),
    })
    assert.equal(res.status, 403)
    assert.equal(codeOf(res), 'E_CROSS_SITE')
    assert.equal((await fetch(`${piper.url}/v1/files/evil.html`)).status, 404)
  })

  it('refuses writes that Fetch Metadata marks cross-site, and `Origin: null`', async () => {
    const cases: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ]
    for (const headers of cases) {
      const res = await rawRequest(piper.url, {
        method: 'PUT',
        target: '/v1/files/x.bin',
        headers,
        body: 'x',
      })
      assert.equal(res.status, 403, JSON.stringify(headers))
    }
    const del = await rawRequest(piper.url, {
      method: 'DELETE',
      target: '/v1/files/x.bin',
      headers: { origin: EVIL },
    })
    assert.equal(del.status, 403)
  })

  it('starts no job from a text/plain body (a form a page can send without asking)', async () => {
    await fetch(`${piper.url}/v1/files/in.txt`, { method: 'PUT', body: 'hello' })
    const res = await rawRequest(piper.url, {
      method: 'POST',
      target: '/v1/jobs',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ type: 'compress', input: 'in.txt', output: 'in.txt.gz' }),
    })
    assert.equal(res.status, 415)
    assert.equal(codeOf(res), 'E_MEDIA_TYPE')
  })

  it('answers only loopback host names (DNS rebinding)', async () => {
    const res = await rawRequest(piper.url, { target: '/v1/files', headers: { host: 'evil.test' } })
    assert.equal(res.status, 421)
    assert.equal(codeOf(res), 'E_HOST')
    const port = new URL(piper.url).port
    for (const name of [`localhost:${port}`, `127.0.0.1:${port}`, 'LOCALHOST']) {
      assert.equal(
        (await rawRequest(piper.url, { target: '/v1/files', headers: { host: name } })).status,
        200,
        name,
      )
    }
  })

  it('serves stored HTML as an attachment, sandboxed and never sniffed', async () => {
    await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/page.html',
      headers: { 'content-type': 'text/html' },
      body: '<script>fetch("/v1/files")</script>',
    })
    const res = await rawRequest(piper.url, { target: '/v1/files/page.html' })
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.match(res.headers['content-security-policy'] ?? '', /^sandbox/)
    assert.match(res.headers['content-disposition'] ?? '', /^attachment; filename="page\.html"/)
    for (const type of [
      'image/svg+xml',
      'application/xhtml+xml',
      'text/javascript',
      'text/xml; charset=utf-8',
    ]) {
      await rawRequest(piper.url, {
        method: 'PUT',
        target: '/v1/files/active',
        headers: { 'content-type': type },
        body: '<x/>',
      })
      const got = await rawRequest(piper.url, { target: '/v1/files/active' })
      assert.match(got.headers['content-disposition'] ?? '', /^attachment/, type)
    }
    await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/photo.png',
      headers: { 'content-type': 'image/png' },
      body: 'png',
    })
    const png = await rawRequest(piper.url, { target: '/v1/files/photo.png' })
    assert.equal(png.headers['content-disposition'], undefined, 'passive types display inline')
    assert.equal(png.headers['x-content-type-options'], 'nosniff')
  })

  it('shows active types inline only on the user-content host, when asked, still sandboxed', async () => {
    await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/show.html',
      headers: { 'content-type': 'text/html' },
      body: '<p>hi</p>',
    })
    const inline = await rawRequest(piper.url, {
      target: '/v1/files/show.html?inline=1',
      headers: { host: 'usercontent.test' },
    })
    assert.equal(inline.status, 200)
    assert.equal(inline.headers['content-disposition'], undefined)
    assert.match(inline.headers['content-security-policy'] ?? '', /^sandbox/)
    const notAsked = await rawRequest(piper.url, {
      target: '/v1/files/show.html',
      headers: { host: 'usercontent.test' },
    })
    assert.match(notAsked.headers['content-disposition'] ?? '', /^attachment/)
    const apiHost = await rawRequest(piper.url, { target: '/v1/files/show.html?inline=1' })
    assert.match(
      apiHost.headers['content-disposition'] ?? '',
      /^attachment/,
      'never inline on the API origin',
    )
  })

  it('lets the same origin and a configured CORS origin write', async () => {
    const same = await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/same.txt',
      headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
      body: 'same',
    })
    assert.equal(same.status, 201)
    const preflight = await rawRequest(piper.url, {
      method: 'OPTIONS',
      target: '/v1/jobs',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers['access-control-allow-origin'], APP)
    assert.match(preflight.headers['access-control-allow-headers'] ?? '', /content-type/)
    const cors = await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/cors.txt',
      headers: { origin: APP, 'sec-fetch-site': 'cross-site' },
      body: 'cors',
    })
    assert.equal(cors.status, 201)
    assert.equal(cors.headers['access-control-allow-origin'], APP)
    const refused = await rawRequest(piper.url, {
      method: 'OPTIONS',
      target: '/v1/jobs',
      headers: { origin: EVIL, 'access-control-request-method': 'POST' },
    })
    assert.equal(refused.status, 403)
    assert.equal(refused.headers['access-control-allow-origin'], undefined)
  })
})

describe('limits a client meets', () => {
  let piper: RunningPiper
  before(async () => {
    piper = await startPiper([], { PIPER_STREAMS_PER_CLIENT: '2', PIPER_UPLOADS_PER_CLIENT: '1' })
  })
  after(async () => {
    await piper.stop()
  })

  it('a client past its event streams or uploads gets 429 E_TOO_MANY; a slot frees when one ends', async () => {
    const streams = [new AbortController(), new AbortController()]
    for (const s of streams) {
      const res = await fetch(`${piper.url}/v1/events`, { signal: s.signal })
      assert.equal(res.status, 200)
    }
    const third = await rawRequest(piper.url, { target: '/v1/events' })
    assert.equal(third.status, 429)
    assert.equal(codeOf(third), 'E_TOO_MANY')
    streams[0]!.abort()
    let again = third
    // The slot frees when the server sees the stream close: wait for that event, not a time.
    while (again.status === 429) {
      again = await rawRequest(piper.url, {
        target: '/v1/events',
        headers: { 'last-event-id': '0' },
      })
    }
    assert.equal(again.status, 200)
    streams[1]!.abort()

    // An upload in progress (its body not yet sent) holds the client's one slot.
    const { request } = await import('node:http')
    const { hostname, port } = new URL(piper.url)
    const slow = request({
      host: hostname,
      port,
      method: 'PUT',
      path: '/v1/files/slow.bin',
      headers: { 'content-length': '10' },
    })
    slow.write('12345')
    let second = await rawRequest(piper.url, {
      method: 'PUT',
      target: '/v1/files/other.bin',
      body: 'x',
    })
    while (second.status === 201) {
      // The first upload's request may not have reached its handler yet.
      await fetch(`${piper.url}/v1/files/other.bin`, { method: 'DELETE' })
      second = await rawRequest(piper.url, {
        method: 'PUT',
        target: '/v1/files/other.bin',
        body: 'x',
      })
    }
    assert.equal(second.status, 429)
    const done = new Promise<number>((resolve) =>
      slow.once('response', (res) => resolve(res.statusCode ?? 0)),
    )
    slow.end('67890')
    assert.equal(await done, 201)
  })

  it('a form with too many files is refused, not cut short silently', async () => {
    const parts = Array.from(
      { length: 101 },
      (_, i) =>
        `--x\r\nContent-Disposition: form-data; name="f"; filename="m/${i}"\r\n\r\n${i}\r\n`,
    )
    const res = await rawRequest(piper.url, {
      method: 'POST',
      target: '/v1/files',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: `${parts.join('')}--x--\r\n`,
    })
    assert.equal(res.status, 413, res.body)
    assert.match(codeOf(res), /E_TOO_LARGE/)
  })
})

describe('per-client quotas', () => {
  let piper: RunningPiper
  before(async () => {
    piper = await startPiper([], {
      PIPER_QUOTA_BYTES: '100000',
      PIPER_QUOTA_FILES: '3',
      PIPER_QUOTA_JOBS: '1',
    })
  })
  after(async () => {
    await piper.stop()
  })

  const put = (name: string, bytes: number) =>
    rawRequest(piper.url, { method: 'PUT', target: `/v1/files/${name}`, body: 'x'.repeat(bytes) })

  it('an upload past the bytes quota stores nothing; replacing a file frees its bytes', async () => {
    assert.equal((await put('q/a', 60_000)).status, 201)
    const over = await put('q/b', 50_000)
    assert.equal(over.status, 413, over.body)
    assert.equal(codeOf(over), 'E_QUOTA')
    assert.match(over.body, /quotaBytes/)
    assert.equal((await fetch(`${piper.url}/v1/files/q/b`)).status, 404, 'nothing of it is stored')
    // The same name again: its 60 000 bytes are freed by the replacement.
    assert.equal((await put('q/a', 90_000)).status, 201)
  })

  it('a new file past the files quota is refused, saying which quota', async () => {
    assert.equal((await put('q/c', 10)).status, 201)
    assert.equal((await put('q/d', 10)).status, 201)
    const fourth = await put('q/e', 10)
    assert.equal(fourth.status, 413)
    assert.match(fourth.body, /quotaFiles/)
  })
})
