import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { FileService } from '../../src/files/index.ts'
import { Quotas } from '../../src/gateway/quotas.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

it('the jobs quota counts queued and running jobs, not ended ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-quotas-'))
  dirs.push(dir)
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  const blobs = new FsBlobStore(join(dir, 'blobs'))
  await Promise.all([meta.start(), blobs.start()])
  try {
    const files = new FileService({
      blobs,
      meta,
      logger: createLogger({ level: 'silent' }),
      chunkSize: 65536,
    })
    const quotas = new Quotas(meta, { bytes: 0, files: 0, jobs: 2 }, files)
    const job = (id: string) =>
      meta.createJob({
        id,
        clientId: 'ann',
        type: 'compress',
        input: 'a',
        output: 'a.gz',
        params: {},
      })
    await quotas.checkJob('ann')
    const { job: first } = await job('job_1')
    await job('job_2')
    await assert.rejects(quotas.checkJob('ann'), {
      status: 429,
      code: 'E_QUOTA',
      message: /quotaJobs/,
    })
    await quotas.checkJob('bob')
    await meta.updateJob(first.id, first.version, {
      state: 'failed',
      error: { code: 'E_X', message: 'x' },
    })
    await quotas.checkJob('ann')
  } finally {
    await meta.close()
    await blobs.close()
  }
})
