import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import { NodesBlobStore, rank } from '../../src/storage/index.ts'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startStorageNode, startStorageNodes } from '../helpers/storage-nodes.ts'

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

async function fill(store: NodesBlobStore, count: number) {
  const blobs = Array.from({ length: count }, (_, i) => randomBytes(5_000 + i * 331))
  for (const bytes of blobs) await store.put(sha(bytes), bytes)
  return blobs
}

it('heal: a node wiped and restarted gets its copies back, so losing another node loses nothing', async () => {
  const cluster = await startStorageNodes(3)
  const store = new NodesBlobStore({ nodes: cluster.addresses, redundancy: { replicas: 2 } })
  try {
    await store.start()
    const blobs = await fill(store, 30)
    await cluster.nodes[0]!.kill()
    await rm(cluster.nodes[0]!.data, { recursive: true, force: true })
    cluster.nodes[0] = await cluster.nodes[0]!.restart()
    // piper storage repair, as an operator runs it.
    const repair = await runPiper(['storage', 'repair'], {
      env: cleanEnv({
        PIPER_BLOBS: `nodes://${cluster.addresses.join(',')}?redundancy=replicas:2`,
      }),
    })
    assert.equal(repair.code, 0, repair.stderr)
    const summary = JSON.parse(repair.stdout)
    assert.equal(summary.blobs, 30)
    assert.equal(summary.failed, 0)
    assert.ok(summary.copied > 0, 'the wiped node held copies that were rebuilt')
    const again = await store.repairAll()
    assert.deepEqual(
      [again.copied, again.removed, again.repaired],
      [0, 0, 0],
      'a second repair finds nothing to do',
    )
    await cluster.nodes[1]!.kill()
    for (const bytes of blobs) assert.deepEqual(Buffer.from(await store.read(sha(bytes))), bytes)
  } finally {
    await cluster.stop()
  }
})

it('rebalance: a fourth node joins while every blob is read again and again; each ends on its two nodes in rank, moving only what must move', async () => {
  const cluster = await startStorageNodes(3)
  const three = new NodesBlobStore({ nodes: cluster.addresses, redundancy: { replicas: 2 } })
  const fourth = await startStorageNode()
  cluster.nodes.push(fourth)
  const addresses = [...cluster.addresses, fourth.address]
  const four = new NodesBlobStore({ nodes: addresses, redundancy: { replicas: 2 } })
  try {
    await three.start()
    const blobs = await fill(three, 40)
    await four.start()
    let reading = true
    let reads = 0
    const readers = (async () => {
      while (reading) {
        for (const bytes of blobs) {
          assert.deepEqual(Buffer.from(await four.read(sha(bytes))), bytes)
          reads++
        }
      }
    })()
    const result = await four.repairAll()
    reading = false
    await readers
    assert.ok(reads >= blobs.length, `${reads} reads during the rebalance`)
    // The least that must move: the copies whose node is now the new one.
    const nodes = addresses.map((name) => ({ name, weight: 1 }))
    let minimum = 0
    for (const bytes of blobs) {
      if (
        rank(sha(bytes), nodes)
          .slice(0, 2)
          .some((n) => n.name === fourth.address)
      )
        minimum += bytes.length
    }
    assert.equal(result.bytesCopied, minimum, 'moved exactly the copies the new node now holds')
    assert.equal(result.removed, result.copied, 'each moved copy left its old node')
    for (const bytes of blobs) {
      const want = new Set(
        rank(sha(bytes), nodes)
          .slice(0, 2)
          .map((n) => n.name),
      )
      for (const address of addresses) {
        const res = await fetch(`http://${address}/v1/blobs/${sha(bytes)}`, { method: 'HEAD' })
        assert.equal(
          res.status === 200,
          want.has(address),
          `${sha(bytes).slice(0, 8)} on ${address}`,
        )
      }
    }
  } finally {
    await cluster.stop()
  }
})

it('scrub: a shard flipped on disk still reads correctly, and repair --verify rewrites it', async () => {
  const cluster = await startStorageNodes(6)
  const store = new NodesBlobStore({ nodes: cluster.addresses, redundancy: { k: 4, m: 2 } })
  try {
    await store.start()
    const [bytes] = await fill(store, 1)
    const key = sha(bytes!)
    // Shard 0 lives on the first node in rank: flip a byte of it on disk.
    const home = rank(
      key,
      cluster.addresses.map((name) => ({ name, weight: 1 })),
    )[0]!.name
    const node = cluster.nodes.find((n) => n.address === home)!
    const shard = `${key}-4x2-0`
    const file = join(node.data, 'blobs', shard.slice(0, 2), shard.slice(2, 4), shard)
    const stored = await readFile(file)
    stored[stored.length - 1]! ^= 0x01
    await writeFile(file, stored)
    assert.deepEqual(Buffer.from(await store.read(key)), bytes)
    assert.equal((await fetch(`http://${home}/v1/blobs/${shard}`)).status, 500)
    const plain = await store.repairAll()
    assert.equal(plain.repaired, 0, 'without --verify a present shard is taken as it is')
    const scrub = await store.repairAll({ verify: true })
    assert.equal(scrub.repaired, 1)
    assert.equal((await fetch(`http://${home}/v1/blobs/${shard}`)).status, 200)
    assert.deepEqual(Buffer.from(await store.read(key)), bytes)
  } finally {
    await cluster.stop()
  }
})
