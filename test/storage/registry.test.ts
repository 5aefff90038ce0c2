import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { NodesBlobStore, StorageNode } from '../../src/storage/index.ts'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { silent } from '../helpers/job-system.ts'

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

it('the registry: nodes added, drained and removed with piper storage; placement follows, repair empties a drained node, a silent node is marked down', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-registry-'))
  const metaUrl = `sqlite:${join(dir, 'meta.db')}`
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await meta.start()
  const nodes = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const node = new StorageNode({
        data: join(dir, `n${i}`),
        host: '127.0.0.1',
        port: 0,
        logger: silent,
      })
      await node.start()
      return node
    }),
  )
  const env = cleanEnv({ PIPER_META: metaUrl })
  const piper = async (...args: string[]) => {
    const run = await runPiper(['storage', ...args], { env })
    assert.equal(run.code, 0, run.stderr)
    return run.stdout
  }
  const address = (node: StorageNode) => node.url.replace('http://', '')
  const store = new NodesBlobStore({
    registry: meta,
    redundancy: { replicas: 2 },
    heartbeatMs: 3_600_000,
    downAfterMs: 0,
  })
  try {
    for (const node of nodes.slice(0, 3)) JSON.parse(await piper('add', address(node)))
    await store.start()
    const blobs = Array.from({ length: 24 }, (_, i) => randomBytes(4000 + i))
    for (const bytes of blobs) await store.put(sha(bytes), bytes)

    await piper('add', address(nodes[3]!))
    await store.refresh()
    const joined = await store.repairAll()
    assert.ok(joined.copied > 0 && joined.removed === joined.copied, JSON.stringify(joined))

    await piper('drain', nodes[0]!.id)
    await store.refresh()
    const drained = await store.repairAll()
    assert.ok(drained.copied > 0, JSON.stringify(drained))
    const left = (await (await fetch(`${nodes[0]!.url}/v1/blobs`)).json()) as { blobs: unknown[] }
    assert.deepEqual(left.blobs, [], 'a drained node holds nothing once repaired')
    for (const bytes of blobs) assert.deepEqual(Buffer.from(await store.read(sha(bytes))), bytes)
    await piper('remove', nodes[0]!.id)

    // A node that stops answering is marked down at the next heartbeat; reads go on.
    await nodes[1]!.close()
    await store.refresh()
    const listed = await piper('ls')
    const states = Object.fromEntries(
      listed
        .trim()
        .split('\n')
        .map((line) => line.split('\t').slice(0, 2)),
    )
    assert.deepEqual(
      states,
      Object.fromEntries([
        [nodes[0]!.id, 'removed'],
        [nodes[1]!.id, 'down'],
        [nodes[2]!.id, 'up'],
        [nodes[3]!.id, 'up'],
      ]),
    )
    for (const bytes of blobs) assert.deepEqual(Buffer.from(await store.read(sha(bytes))), bytes)
    const unknown = await runPiper(['storage', 'drain', 'node-nope'], { env })
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no storage node node-nope/)
  } finally {
    await store.close()
    await Promise.all(nodes.map((node) => node.close()))
    await meta.close()
    await rm(dir, { recursive: true, force: true })
  }
})
