import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { TieredBlobStore } from '../../src/storage/index.ts'
import { runBlobStoreContract } from '../blobs/blob-store-contract.ts'
import { download, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function tiers() {
  const dir = await mkdtemp(join(tmpdir(), 'piper-tiered-'))
  dirs.push(dir)
  const staging = new FsBlobStore(join(dir, 'staging'))
  const longTerm = new FsBlobStore(join(dir, 'long'))
  return {
    staging,
    longTerm,
    store: new TieredBlobStore({ staging, longTerm, distributeEveryMs: 0 }),
  }
}

runBlobStoreContract('tiered (fs + fs)', {
  create: async () => {
    const { store } = await tiers()
    await store.start()
    return store
  },
})

it('tiered: blobs land in staging, move to long term, and read from either at every step', async () => {
  const { staging, longTerm, store } = await tiers()
  await store.start()
  try {
    const blobs = Array.from({ length: 10 }, (_, i) => randomBytes(1000 + i))
    const keys = blobs.map((b) => createHash('sha256').update(b).digest('hex'))
    for (const [i, bytes] of blobs.entries()) await store.put(keys[i]!, bytes)
    for (const key of keys) {
      assert.ok(await staging.stat(key))
      assert.equal(await longTerm.stat(key), undefined)
    }
    const moved = await store.distribute()
    assert.deepEqual(moved, {
      moved: 10,
      bytes: blobs.reduce((n, b) => n + b.length, 0),
      failed: 0,
    })
    for (const [i, key] of keys.entries()) {
      assert.equal(await staging.stat(key), undefined)
      assert.deepEqual(Buffer.from(await store.read(key)), blobs[i])
    }
    assert.deepEqual(await store.distribute(), { moved: 0, bytes: 0, failed: 0 })
  } finally {
    await store.close()
  }
})

it('piper up --staging: uploads land on disk and reach the storage nodes, readable throughout', async () => {
  const cluster = await startStorageNodes(3)
  const staging = await mkdtemp(join(tmpdir(), 'piper-staging-'))
  dirs.push(staging)
  try {
    const piper = await startPiper([
      '--blobs',
      `nodes://${cluster.addresses.join(',')}?redundancy=replicas:2`,
      '--staging',
      `file:${staging}`,
      '--chunk-size',
      '64K',
    ])
    try {
      const bytes = randomBytes(700_000)
      await putFile(piper.url, 'staged.bin', bytes)
      assert.deepEqual(await download(piper.url, 'staged.bin'), bytes)
      // Distribution runs every 5 s: wait for the nodes to hold every chunk (11 of them, twice).
      for (;;) {
        let copies = 0
        for (const address of cluster.addresses) {
          const listed = (await (await fetch(`http://${address}/v1/blobs`)).json()) as {
            blobs: unknown[]
          }
          copies += listed.blobs.length
        }
        assert.deepEqual(await download(piper.url, 'staged.bin'), bytes)
        if (copies >= 22) break
        await new Promise((r) => setTimeout(r, 200))
      }
    } finally {
      assert.equal(await piper.stop(), 0, piper.output())
    }
  } finally {
    await cluster.stop()
  }
})
