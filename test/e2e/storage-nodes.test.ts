import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { download } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

async function put(base: string, name: string, bytes: Uint8Array): Promise<number> {
  const res = await fetch(`${base}/v1/files/${name}`, { method: 'PUT', body: bytes })
  await res.arrayBuffer()
  return res.status
}

describe('piper up on storage nodes, with nodes killed (kill -9)', () => {
  it('replicas:2 on 3 nodes: uploads go on through a node killed midway; every acknowledged one reads back, and a download in flight finishes', async () => {
    const cluster = await startStorageNodes(3)
    const url = `nodes://${cluster.addresses.join(',')}?redundancy=replicas:2`
    const piper = await startPiper(['--blobs', url, '--chunk-size', '256K']).catch(
      async (error) => {
        await cluster.stop()
        throw error
      },
    )
    try {
      const big = randomBytes(6 * 1024 * 1024)
      assert.equal(await put(piper.url, 'big.bin', big), 201)
      const files = Array.from({ length: 24 }, (_, i) => randomBytes(300_000 + i * 1000))
      const acked: number[] = []
      // A slow reader of the big file, begun before the kill.
      const res = await fetch(`${piper.url}/v1/files/big.bin`)
      const reader = res.body!.getReader()
      const first = await reader.read()
      for (const [i, bytes] of files.entries()) {
        if (i === 8) await cluster.nodes[0]!.kill()
        const status = await put(piper.url, `f/${i}.bin`, bytes)
        if (status === 201) acked.push(i)
        else assert.equal(status, 503, `upload ${i}: ${status}`)
      }
      const rest: Uint8Array[] = [first.value!]
      for (;;) {
        const next = await reader.read()
        if (next.done) break
        rest.push(next.value)
      }
      assert.deepEqual(
        Buffer.concat(rest),
        big,
        'the download begun before the kill finished whole',
      )
      assert.equal(acked.length, files.length, 'two nodes are enough for every upload')
      for (const i of acked)
        assert.deepEqual(await download(piper.url, `f/${i}.bin`), files[i], `file ${i}`)
      // The dead node's circuit opened: it is passed over at once, not tried call after call.
      const metrics = await (await fetch(`${piper.url}/metrics`)).text()
      const circuit = (address: string) =>
        new RegExp(`piper_dependency_circuit_state\\{dependency="node:${address}"\\} (\\d)`).exec(
          metrics,
        )?.[1]
      assert.equal(circuit(cluster.addresses[0]!), '1', 'open')
      assert.equal(circuit(cluster.addresses[1]!), '0')
      assert.equal(circuit(cluster.addresses[2]!), '0')
    } finally {
      assert.equal(await piper.stop(), 0, piper.output())
      await cluster.stop()
    }
  })

  it('ec:4+2 on 6 nodes: with two nodes killed every file still reads back byte for byte', async () => {
    const cluster = await startStorageNodes(6)
    const url = `nodes://${cluster.addresses.join(',')}?redundancy=ec:4%2B2`
    const piper = await startPiper(['--blobs', url, '--chunk-size', '256K']).catch(
      async (error) => {
        await cluster.stop()
        throw error
      },
    )
    try {
      const files = Array.from({ length: 6 }, (_, i) => randomBytes(700_000 + i * 12_345))
      for (const [i, bytes] of files.entries())
        assert.equal(await put(piper.url, `e/${i}.bin`, bytes), 201)
      await cluster.nodes[1]!.kill()
      await cluster.nodes[4]!.kill()
      for (const [i, bytes] of files.entries())
        assert.deepEqual(await download(piper.url, `e/${i}.bin`), bytes, `file ${i}`)
      // Uploads need all six shards on distinct nodes: with two down they are refused, and say so.
      assert.equal(await put(piper.url, 'e/late.bin', randomBytes(1000)), 503)
    } finally {
      assert.equal(await piper.stop(), 0, piper.output())
      await cluster.stop()
    }
  })
})
