import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { readSse } from '../../src/cli/sse-reader.ts'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

it('/v1/admin/storage: an administrator sees the nodes, adds one, runs a repair followed over SSE, drains and removes a node; others get 403; /metrics shows the work', async () => {
  const data = await mkdtemp(join(tmpdir(), 'piper-storage-admin-'))
  const cluster = await startStorageNodes(4)
  const [a, b, c, d] = cluster.addresses as [string, string, string, string]
  let piper: Awaited<ReturnType<typeof startPiper>> | undefined
  let opsKey = ''
  let aliceKey = ''
  const cli = async (...args: string[]) => {
    const run = await runPiper([...args, '--data', data], { env: cleanEnv() })
    assert.equal(run.code, 0, run.stderr)
    return run.stdout.trim()
  }
  const as = (key: string) => ({ authorization: `Bearer ${key}` })
  const api = (path: string, init: RequestInit = {}, key = opsKey) =>
    fetch(`${piper!.url}${path}`, {
      ...init,
      headers: { ...as(key), ...(init.body ? { 'content-type': 'application/json' } : {}) },
    })
  const status = async () => {
    const res = await api('/v1/admin/storage')
    assert.equal(res.status, 200)
    return (await res.json()) as {
      managed: boolean
      nodes: { name: string; address: string; state: string; answering: boolean }[]
      repair: unknown
    }
  }
  /** Starts a repair pass and follows its events to the end; the last status. */
  const repair = async () => {
    const started = await api('/v1/admin/storage/repair', { method: 'POST', body: '{}' })
    assert.equal(started.status, 202, await started.clone().text())
    const res = await api('/v1/admin/storage/repair/events')
    assert.equal(res.status, 200)
    const events = []
    for await (const event of readSse(res.body!)) events.push(event)
    assert.equal(events.at(-1)?.event, 'end', 'the stream ends with the pass')
    assert.ok(events.slice(0, -1).every((e) => e.event === 'progress'))
    return JSON.parse(events.at(-1)!.data) as Record<string, number | string>
  }
  try {
    for (const address of [a, b, c]) await cli('storage', 'add', address)
    opsKey = await cli('keys', 'create', 'ops')
    aliceKey = await cli('keys', 'create', 'alice')
    piper = await startPiper(
      [
        '--blobs',
        'nodes://registry?redundancy=replicas:2',
        '--storage-repair-interval-ms',
        '0',
        '--admin-clients',
        'ops',
        '--chunk-size',
        '64K',
      ],
      {},
      data,
    )
    const files = Array.from({ length: 6 }, (_, i) => randomBytes(150_000 + i))
    for (const [i, bytes] of files.entries()) {
      const res = await fetch(`${piper.url}/v1/files/f${i}.bin`, {
        method: 'PUT',
        body: bytes,
        headers: as(aliceKey),
      })
      assert.equal(res.status, 201)
    }

    for (const path of ['/v1/admin/storage', '/metrics']) {
      const refused = await api(path, {}, aliceKey)
      assert.equal(refused.status, 403, path)
      assert.equal(
        ((await refused.json()) as { error: { code: string } }).error.code,
        'E_FORBIDDEN',
      )
    }
    assert.equal((await fetch(`${piper.url}/v1/admin/storage`)).status, 401)

    const before = await status()
    assert.equal(before.managed, true)
    assert.deepEqual(
      before.nodes.map((n) => [n.state, n.answering]),
      [
        ['up', true],
        ['up', true],
        ['up', true],
      ],
    )
    assert.equal(before.repair, null)

    const bad = await api('/v1/admin/storage/nodes', {
      method: 'POST',
      body: JSON.stringify({ address: '127.0.0.1:1' }),
    })
    assert.equal(bad.status, 502, 'no node answers there')
    const added = await api('/v1/admin/storage/nodes', {
      method: 'POST',
      body: JSON.stringify({ address: d }),
    })
    assert.equal(added.status, 201)
    assert.equal((await status()).nodes.length, 4)

    // The fourth node takes its share: what moves is copied, then removed from where it was.
    const joined = await repair()
    assert.equal(joined.state, 'done')
    assert.ok(Number(joined.copied) > 0, JSON.stringify(joined))
    assert.equal(joined.removed, joined.copied)
    assert.equal(joined.failed, 0)

    const first = (await status()).nodes.find((n) => n.address === `http://${a}`)!
    const drain = await api(`/v1/admin/storage/nodes/${first.name}/drain`, { method: 'POST' })
    assert.equal(drain.status, 204)
    const drained = await repair()
    assert.equal(drained.failed, 0)
    const left = (await (await fetch(`http://${a}/v1/blobs`)).json()) as { blobs: unknown[] }
    assert.deepEqual(left.blobs, [], 'a drained node holds nothing once repaired')
    assert.equal(
      (await api(`/v1/admin/storage/nodes/${first.name}`, { method: 'DELETE' })).status,
      204,
    )
    assert.equal(
      (await api('/v1/admin/storage/nodes/no-such-node', { method: 'DELETE' })).status,
      404,
    )
    assert.deepEqual(
      (await status()).nodes.map((n) => n.address).sort(),
      [b, c, d].map((x) => `http://${x}`).sort(),
    )

    for (const [i, bytes] of files.entries()) {
      const res = await fetch(`${piper.url}/v1/files/f${i}.bin`, { headers: as(aliceKey) })
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes, `f${i}.bin`)
    }

    const metrics = await (await api('/metrics')).text()
    assert.match(
      metrics,
      /piper_http_request_duration_seconds_count\{method="PUT",route="\/v1\/files\/\*",status="201"\} 6/,
    )
    assert.match(metrics, /piper_storage_nodes\{state="up"\} 3/)
    assert.match(metrics, /piper_storage_degraded_reads_total 0/)
    assert.match(metrics, /nodejs_heap_size_used_bytes/)
    // The metadata database's work so far, counted at each scrape: a PUT adds to both.
    const meta = (text: string, which: string) =>
      Number(new RegExp(`piper_meta_${which}_total (\\d+)`).exec(text)?.[1])
    const put = await fetch(`${piper.url}/v1/files/one-more.bin`, {
      method: 'PUT',
      headers: as(aliceKey),
      body: 'one more',
    })
    assert.equal(put.status, 201)
    const after = await (await api('/metrics')).text()
    assert.ok(
      meta(after, 'statements') > meta(metrics, 'statements') && meta(metrics, 'statements') > 0,
    )
    assert.ok(meta(after, 'commits') > meta(metrics, 'commits') && meta(metrics, 'commits') > 0)
  } finally {
    if (piper) assert.equal(await piper.stop(), 0, piper.output())
    await cluster.stop()
    await rm(data, { recursive: true, force: true })
  }
})
