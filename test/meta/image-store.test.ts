import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { PostgresDriver, SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { runImageStoreContract } from './image-store-contract.ts'

const dirs: string[] = []
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  await dropTestSchemas()
})

runImageStoreContract('sqlite', {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'piper-images-'))
    dirs.push(dir)
    const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
    await meta.start()
    return meta
  },
})

runImageStoreContract('postgres', {
  create: async (t) => {
    if (!(await requireServer(t, POSTGRES))) return undefined
    const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
    await meta.start()
    return meta
  },
})
