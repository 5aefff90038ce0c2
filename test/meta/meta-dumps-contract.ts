import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import fc from 'fast-check'
import type { DumpLine, LeaderLeases, MetaDumps, MetaStore } from '../../src/meta/index.ts'

type Store = MetaStore & MetaDumps & LeaderLeases

export interface MetaDumpsContractOptions {
  /** A fresh, started store, or undefined when its database is absent (the test skips). */
  create: (t: TestContext) => Promise<Store | undefined>
}

async function upload(meta: MetaStore, client: string, name: string, parts: string[]) {
  const id = await meta.beginUpload(client, name)
  for (const [seq, part] of parts.entries()) {
    const bytes = Buffer.from(part)
    const frequencies = new Uint32Array(256)
    for (const b of bytes) frequencies[b]!++
    const key = createHash('sha256').update(bytes).digest('hex')
    await meta.addUploadChunk(id, seq, { key, size: bytes.length, frequencies })
  }
  const body = parts.join('')
  return meta.commitUpload(id, {
    size: Buffer.byteLength(body),
    sha256: createHash('sha256').update(body).digest('hex'),
    contentType: 'text/plain',
  })
}

async function dumpOf(meta: MetaDumps): Promise<DumpLine[]> {
  const lines: DumpLine[] = []
  await meta.dump((line) => {
    lines.push(JSON.parse(JSON.stringify(line)) as DumpLine)
  })
  return lines
}

async function* replay(lines: readonly DumpLine[]): AsyncGenerator<DumpLine> {
  for (const line of lines) yield line
}

/** Rows per table of a dump, values as strings (the dialects differ in integer types). */
function tablesOf(lines: readonly DumpLine[]): Record<string, string[]> {
  const tables: Record<string, string[]> = {}
  let table = ''
  for (const line of lines) {
    if ('table' in line) table = line.table
    if ('row' in line) {
      const rows = tables[table] ?? []
      rows.push(JSON.stringify(line.row.map((v) => (typeof v === 'number' ? String(v) : v))))
      tables[table] = rows
    }
  }
  return tables
}

/** The behaviour every `MetaDumps` adapter must have: what backups and restores rely on. */
export function runMetaDumpsContract(name: string, options: MetaDumpsContractOptions): void {
  describe(`MetaDumps contract: ${name}`, () => {
    async function filled(
      t: TestContext,
    ): Promise<{ meta: Store; running: string; done: string } | undefined> {
      const meta = await options.create(t)
      if (!meta) return undefined
      await meta.addApiKey('ann', 'k'.repeat(64), 'laptop')
      await upload(meta, 'ann', 'a.txt', ['hello ', 'world'])
      await upload(meta, 'ann', 'b.txt', ['hello ', 'there'])
      const job = (name: string) =>
        meta.createJob({
          id: randomUUID(),
          clientId: 'ann',
          type: 'compress',
          input: name,
          output: `${name}.gz`,
          params: {},
        })
      const { job: finished } = await job('a.txt')
      const started = (await meta.updateJob(finished.id, finished.version, { state: 'running' }))!
      await meta.updateJob(finished.id, started.version, {
        state: 'succeeded',
        result: { ratio: 0.5 },
      })
      const { job: running } = await job('b.txt')
      await meta.updateJob(running.id, running.version, { state: 'running' })
      await meta.lead('repair', 'someone', 60_000)
      return { meta, running: running.id, done: finished.id }
    }

    it('a dump is one moment: a write while it streams is not in it', async (t) => {
      const setup = await filled(t)
      if (!setup) return
      const { meta } = setup
      try {
        let wrote = false
        const rows = await meta.dump(async () => {
          if (wrote) return
          wrote = true
          await upload(meta, 'ann', 'during.txt', ['written during the dump'])
        })
        assert.equal(rows.files, 2)
        assert.equal(rows.chunks, 3, 'hello is shared')
        assert.equal((await meta.getFile('ann', 'during.txt'))?.size, 23)
        assert.equal((await meta.dump(() => {})).files, 3)
      } finally {
        await meta.close()
      }
    })

    it('loaded into a new store, a dump gives the same rows back; unfinished jobs fail as E_RESTORED; leases stay behind', async (t) => {
      const setup = await filled(t)
      if (!setup) return
      const other = await options.create(t)
      try {
        const lines = await dumpOf(setup.meta)
        assert.equal(await other!.empty(), true)
        const counts = await other!.load(replay(lines), { restoredFrom: 'B1' })
        assert.equal(counts.files, 2)
        assert.equal(await other!.empty(), false)
        const again = tablesOf(await dumpOf(other!))
        const before = tablesOf(lines)
        for (const table of Object.keys(before)) {
          if (table === 'jobs' || table === 'job_events') continue
          assert.deepEqual(again[table], before[table], table)
        }
        const failed = await other!.getJob('ann', setup.running)
        assert.equal(failed?.state, 'failed')
        assert.equal(failed?.error?.code, 'E_RESTORED')
        assert.equal((await other!.getJob('ann', setup.done))?.state, 'succeeded')
        assert.equal((await other!.getFile('ann', 'b.txt'))?.size, 11)
        assert.equal(await other!.clientForKey('k'.repeat(64)), 'ann')
        assert.equal(await other!.lead('repair', 'me', 60_000), true, 'leases are not restored')
        await assert.rejects(other!.load(replay(lines), { restoredFrom: 'B1' }), {
          code: 'E_RESTORE_NOT_EMPTY',
        })
      } finally {
        await setup.meta.close()
        await other?.close()
      }
    })

    it('a damaged dump (cut off, a line lost, a name changed, a row misshapen) loads nothing', async (t) => {
      const setup = await filled(t)
      if (!setup) return
      const target = await options.create(t)
      try {
        const lines = await dumpOf(setup.meta)
        const damage = fc.oneof(
          fc.integer({ min: 1, max: lines.length - 1 }).map((n) => lines.slice(0, n)),
          fc.integer({ min: 1, max: lines.length - 1 }).map((i) => lines.filter((_, j) => j !== i)),
          fc.integer({ min: 1, max: lines.length - 2 }).chain((i) =>
            fc
              .constantFrom<DumpLine>(
                { table: 'storage_nodes', columns: ['id'] },
                { table: 'files', columns: ['id; DROP TABLE files'] },
                { row: [] },
                {
                  row: [
                    'x',
                    1,
                    null,
                    { b64: 'AA==' },
                    'extra',
                    'y',
                    'z',
                    'w',
                    'v',
                    'u',
                    't',
                    's',
                    'r',
                  ],
                },
                {
                  header: { format: 'piper-metadata', version: 1, schema: 99, dialect: 'sqlite' },
                },
                { end: { rows: {} } },
              )
              .map((bad) => [...lines.slice(0, i), bad, ...lines.slice(i + 1)]),
          ),
        )
        await fc.assert(
          fc.asyncProperty(damage, async (damaged) => {
            await assert.rejects(
              target!.load(replay(damaged), { restoredFrom: 'X' }),
              (error: Error & { code?: string }) => ['E_BACKUP_CORRUPT'].includes(error.code ?? ''),
            )
            assert.equal(await target!.empty(), true, 'nothing of it was kept')
          }),
          { numRuns: 40 },
        )
      } finally {
        await setup.meta.close()
        await target?.close()
      }
    })
  })
}
