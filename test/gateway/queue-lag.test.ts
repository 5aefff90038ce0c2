import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createJob, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'

it('/v1/admin/queue/lag counts the tasks of every kind waiting for workers, image.* and shards too, and by ?kind=', async () => {
  // No worker here runs these kinds: their tasks wait on their topics.
  const piper = await startPiper(['--kinds', 'hash'])
  try {
    await putFile(piper.url, 'lag/a.txt', Buffer.from('waits\n'))
    await createJob(piper.url, { type: 'compress', input: 'lag/a.txt' })
    for (const width of [10, 20]) {
      await createJob(piper.url, { type: 'image.resize', input: 'lag/a.txt', params: { width } })
    }
    const lag = async (query = '') => {
      const res = await fetch(`${piper.url}/v1/admin/queue/lag${query}`)
      assert.equal(res.status, 200)
      return (await res.json()) as { lag: number; pending: number; waiting: number }
    }
    assert.deepEqual(await lag(), { lag: 3, pending: 0, waiting: 3 })
    assert.equal((await lag('?kind=image.resize')).waiting, 2)
    assert.equal((await lag('?kind=compress')).waiting, 1)
    assert.equal((await lag('?kind=image')).waiting, 0)
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
