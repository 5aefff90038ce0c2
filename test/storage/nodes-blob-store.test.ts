import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  NodesBlobStore,
  nodesOptionsFromUrl,
  type Redundancy,
  rank,
} from '../../src/storage/index.ts'
import { runBlobStoreContract } from '../blobs/blob-store-contract.ts'
import { collect } from '../helpers/collect.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

for (const [label, count, redundancy] of [
  ['replicas:2 on 3 nodes', 3, { replicas: 2 }],
  ['ec:4+2 on 6 nodes', 6, { k: 4, m: 2 }],
] as [string, number, Redundancy][]) {
  describe(`nodes:// ${label}`, () => {
    let cluster: Awaited<ReturnType<typeof startStorageNodes>>
    before(async () => {
      cluster = await startStorageNodes(count)
    })
    after(() => cluster.stop())

    /** A store on these nodes in a namespace of its own: empty, as the contract wants. */
    const fresh = async () => {
      const store = new NodesBlobStore({
        nodes: cluster.addresses,
        redundancy,
        namespace: randomUUID().slice(0, 8),
      })
      await store.start()
      return store
    }

    runBlobStoreContract(`nodes ${label}`, { create: fresh })

    it('reads go on while as many nodes as the redundancy allows are down, then fail clearly', async () => {
      const store = await fresh()
      const blobs = Array.from({ length: 12 }, (_, i) => randomBytes(10_000 + i * 997))
      const keys = blobs.map((bytes) => createHash('sha256').update(bytes).digest('hex'))
      for (const [i, bytes] of blobs.entries()) await store.put(keys[i]!, bytes)
      const tolerated = 'replicas' in redundancy ? redundancy.replicas - 1 : redundancy.m
      // The nodes the first blob ranks first: killing them makes its reads degraded for sure,
      // and killing one more takes away its last copy (or one shard too many).
      const order = rank(
        keys[0]!,
        cluster.addresses.map((name) => ({ name, weight: 1 })),
      ).map((n) => cluster.nodes.findIndex((node) => node.address === n.name))
      for (const i of order.slice(0, tolerated)) await cluster.nodes[i]!.kill()
      try {
        for (const [i, bytes] of blobs.entries()) {
          assert.deepEqual(
            Buffer.from(await store.read(keys[i]!)),
            bytes,
            `blob ${i} with ${tolerated} down`,
          )
          assert.deepEqual(
            await collect(await store.get(keys[i]!, { start: 5, end: 9_000 })),
            bytes.subarray(5, 9_001),
          )
        }
        assert.ok(store.degradedReads > 0, 'some reads had to use another copy or the parity')
        // Writes go on where enough nodes are up for every copy or shard (the write quorum):
        // the nodes that are down are passed over; otherwise the put fails and says so.
        const pieces = 'replicas' in redundancy ? redundancy.replicas : redundancy.k + redundancy.m
        const extra = randomBytes(30_000)
        if (count - tolerated >= pieces) {
          await store.put('f'.repeat(64), extra)
          assert.deepEqual(Buffer.from(await store.read('f'.repeat(64))), extra)
        } else {
          await assert.rejects(store.put('f'.repeat(64), extra), { code: 'E_BLOB_UNAVAILABLE' })
        }
        // One more node down than the redundancy covers: the first blob is unreadable, and says so.
        await cluster.nodes[order[tolerated]!]!.kill()
        const results = await Promise.allSettled(keys.map((key) => store.read(key)))
        const failed = results.filter((r) => r.status === 'rejected')
        assert.equal(
          results[0]!.status,
          'rejected',
          'losing one more node than allowed loses the blob',
        )
        for (const f of failed)
          assert.equal((f as PromiseRejectedResult).reason.code, 'E_BLOB_UNAVAILABLE')
      } finally {
        for (const [i, node] of cluster.nodes.entries()) {
          if (node.child.exitCode !== null || node.child.signalCode !== null)
            cluster.nodes[i] = await node.restart()
        }
      }
    })
  })
}

it('nodes:// URLs name nodes, redundancy and namespace, and refuse too few nodes', () => {
  assert.deepEqual(nodesOptionsFromUrl('nodes://a:7601,b:7601,c:7601?redundancy=replicas:3'), {
    nodes: ['a:7601', 'b:7601', 'c:7601'],
    registry: false,
    redundancy: { replicas: 3 },
  })
  assert.deepEqual(nodesOptionsFromUrl('nodes://registry?redundancy=ec:4+2'), {
    nodes: [],
    registry: true,
    redundancy: { k: 4, m: 2 },
  })
  assert.deepEqual(
    nodesOptionsFromUrl('nodes://a:1,b:2,c:3,d:4,e:5,f:6?redundancy=ec:4+2&namespace=x1')
      .redundancy,
    { k: 4, m: 2 },
  )
  assert.throws(
    () => nodesOptionsFromUrl('nodes://a:1,b:2?redundancy=ec:4+2'),
    /needs at least 6 nodes; 2 given/,
  )
  assert.throws(
    () => nodesOptionsFromUrl('nodes://a:1,b:2?redundancy=raid5'),
    /replicas:N or ec:K\+M/,
  )
  assert.throws(() => nodesOptionsFromUrl('nodes://a,b'), /not host:port/)
})
