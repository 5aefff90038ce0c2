import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { readChunkVerified } from '../../src/files/index.ts'
import { NodesBlobStore, rank, StorageNode } from '../../src/storage/index.ts'
import { silent } from '../helpers/job-system.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function node(options: { token?: string; capacity?: number; host?: string } = {}) {
  const data = await mkdtemp(join(tmpdir(), 'piper-node-test-'))
  dirs.push(data)
  const server = new StorageNode({
    data,
    host: options.host ?? '127.0.0.1',
    port: 0,
    logger: silent,
    ...options,
  })
  await server.start()
  return { server, data }
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** The file a node keeps a blob in (fanned out by the key's first characters). */
async function blobFile(data: string, key: string): Promise<string> {
  return join(data, 'blobs', key.slice(0, 2), key.slice(2, 4), key)
}

it('a node checks what it is sent against the declared sha256, and stores nothing that fails', async () => {
  const { server } = await node()
  try {
    const bytes = randomBytes(5000)
    const put = (hash: string, body: Uint8Array = bytes) =>
      fetch(`${server.url}/v1/blobs/${sha(bytes)}`, {
        method: 'PUT',
        headers: { 'x-piper-sha256': hash },
        body,
      })
    const wrong = await put(sha(randomBytes(10)))
    assert.equal(wrong.status, 422)
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'E_BLOB_HASH')
    assert.equal((await fetch(`${server.url}/v1/blobs/${sha(bytes)}`)).status, 404)
    assert.equal((await put('nonsense')).status, 400)
    assert.equal((await put(sha(bytes))).status, 201)
    assert.equal((await put(sha(bytes))).status, 200)
    const info = (await (await fetch(`${server.url}/v1/node`)).json()) as {
      used: number
      state: string
      id: string
    }
    assert.equal(info.used, 5000)
    assert.equal(info.state, 'up')
    assert.match(info.id, /^node-/)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(metrics, /piper_node_requests_total\{op="PUT",status="201"\} 1/)
  } finally {
    await server.close()
    await server.close()
  }
})

it('a node never serves bytes that fail their hash unless asked unchecked; the store reads another copy', async () => {
  const nodes = await Promise.all([node(), node()])
  const store = new NodesBlobStore({
    nodes: nodes.map((n) => n.server.url),
    redundancy: { replicas: 2 },
  })
  try {
    await store.start()
    const bytes = randomBytes(20_000)
    const key = sha(bytes)
    await store.put(key, bytes)
    // Flip a byte of the copy a read tries first (the node ranked first for the key).
    const [top] = rank(
      key,
      nodes.map((n) => ({ name: n.server.url, weight: 1 })),
    )
    const damaged = nodes.find((n) => n.server.url === top!.name)!
    const file = await blobFile(damaged.data, key)
    const stored = await readFile(file)
    stored[stored.length - 100]! ^= 0xff
    await writeFile(file, stored)
    const res = await fetch(`${damaged.server.url}/v1/blobs/${key}`)
    assert.equal(res.status, 500)
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_BLOB_CORRUPT')
    assert.deepEqual(Buffer.from(await store.read(key)), bytes)
    assert.equal(store.degradedReads, 1)
    assert.match(
      await (await fetch(`${damaged.server.url}/metrics`)).text(),
      /piper_node_corrupt_reads_total 2/,
    )
    // Asked unchecked (the caller hashes the bytes itself), the node serves its copy as it is:
    // damaged. A chunk's checked read finds so and reads again, checked by the nodes: the good copy.
    const unchecked = Buffer.from(await store.read(key, { unchecked: true }))
    assert.notDeepEqual(unchecked, bytes)
    assert.equal(unchecked.length, bytes.length)
    assert.deepEqual(Buffer.from(await readChunkVerified(store, key)), bytes)
    // Both copies damaged: the chunk is refused, not served.
    const other = nodes.find((n) => n !== damaged)!
    const copy = await blobFile(other.data, key)
    const second = await readFile(copy)
    second[second.length - 7]! ^= 0xff
    await writeFile(copy, second)
    await assert.rejects(readChunkVerified(store, key), { code: 'E_BLOB_UNAVAILABLE' })
  } finally {
    await store.close()
    await Promise.all(nodes.map((n) => n.server.close()))
  }
})

it('a node off loopback needs a token, and with one refuses requests without it', async () => {
  const data = await mkdtemp(join(tmpdir(), 'piper-node-test-'))
  dirs.push(data)
  const open = new StorageNode({ data, host: '0.0.0.0', port: 0, logger: silent })
  await assert.rejects(open.start(), /needs a token/)
  const { server } = await node({ token: 'a-long-enough-secret' })
  try {
    assert.equal((await fetch(`${server.url}/v1/node`)).status, 401)
    assert.equal((await fetch(`${server.url}/livez`)).status, 200)
    const ok = await fetch(`${server.url}/v1/node`, {
      headers: { authorization: 'Bearer a-long-enough-secret' },
    })
    assert.equal(ok.status, 200)
  } finally {
    await server.close()
  }
})

it('a full node refuses writes with 507, and the store puts the copy on the next node', async () => {
  const small = await node({ capacity: 10_000 })
  const roomy = await Promise.all([node(), node()])
  const all = [small, ...roomy]
  const store = new NodesBlobStore({
    nodes: all.map((n) => n.server.url),
    redundancy: { replicas: 2 },
  })
  try {
    await store.start()
    for (let i = 0; i < 8; i++) {
      const bytes = randomBytes(6_000)
      await store.put(sha(bytes), bytes)
      assert.deepEqual(Buffer.from(await store.read(sha(bytes))), bytes)
    }
    const used = (await (await fetch(`${small.server.url}/v1/node`)).json()) as {
      used: number
      state: string
    }
    assert.ok(used.used <= 10_000, `the small node holds ${used.used}`)
  } finally {
    await Promise.all(all.map((n) => n.server.close()))
  }
})
