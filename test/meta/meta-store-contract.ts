import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import type { ChunkInfo, MetaStore } from '../../src/meta/index.ts'

export interface MetaStoreContractOptions {
  /** A fresh, started store, or undefined when its database is absent (the test skips). */
  create: (t: TestContext) => Promise<MetaStore | undefined>
}

function chunk(text: string): ChunkInfo {
  const bytes = Buffer.from(text)
  const frequencies = new Uint32Array(256)
  for (const b of bytes) frequencies[b]!++
  return { key: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, frequencies }
}

/** Uploads `parts` as `name` for `client`; returns the commit's result. */
async function upload(meta: MetaStore, client: string, name: string, parts: string[]) {
  const id = await meta.beginUpload(client, name)
  for (const [seq, part] of parts.entries()) await meta.addUploadChunk(id, seq, chunk(part))
  const body = parts.join('')
  return meta.commitUpload(id, {
    size: Buffer.byteLength(body),
    sha256: createHash('sha256').update(body).digest('hex'),
    contentType: 'text/plain',
  })
}

/** The behaviour every `MetaStore` adapter must have. */
export function runMetaStoreContract(name: string, options: MetaStoreContractOptions): void {
  describe(`MetaStore contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (meta: MetaStore) => Promise<void>) {
      const meta = await options.create(t)
      if (!meta) return
      try {
        await fn(meta)
      } finally {
        await meta.close()
        await meta.close()
      }
    }

    it('a file of more chunks than one statement writes: its whole manifest, in order, at its offsets', (t) =>
      withStore(t, async (meta) => {
        const parts = Array.from({ length: 1203 }, (_, i) => `part ${i};`)
        const { file } = await upload(meta, 'max', 'many.txt', parts)
        const manifest = await meta.manifest(file.id)
        assert.equal(manifest.length, parts.length)
        let offset = 0
        for (const [i, entry] of manifest.entries()) {
          assert.deepEqual([entry.seq, entry.offset, entry.key], [i, offset, chunk(parts[i]!).key])
          offset += entry.size
        }
        assert.equal(offset, file.size)
        // Read with its record, in one statement: the same file and manifest.
        assert.deepEqual(await meta.fileWithManifest('max', 'many.txt'), { file, manifest })
        assert.equal(await meta.fileWithManifest('max', 'none.txt'), undefined)
        assert.equal(await meta.fileWithManifest('someone else', 'many.txt'), undefined)
      }))

    it('puts a file of one chunk (or none) in one call, replacing and sharing as a commit does', (t) =>
      withStore(t, async (meta) => {
        const summary = (text: string) => ({
          size: Buffer.byteLength(text),
          sha256: chunk(text).key,
          contentType: 'text/plain',
        })
        const one = await meta.putFile('pat', 'one.txt', chunk('same bytes'), summary('same bytes'))
        assert.deepEqual(one.released, [])
        assert.equal(one.file.chunkCount, 1)
        assert.deepEqual(await meta.getFile('pat', 'one.txt'), one.file)
        const manifest = await meta.manifest(one.file.id)
        assert.deepEqual(
          manifest.map((m) => [m.seq, m.offset, m.size, m.key]),
          [[0, 0, 10, chunk('same bytes').key]],
        )
        assert.equal(manifest[0]!.frequencies[0x73], 2)
        // The same bytes under another name share the chunk; replacing the first name with
        // other bytes releases nothing (the second file still holds them).
        await meta.putFile('pat', 'two.txt', chunk('same bytes'), summary('same bytes'))
        const replaced = await meta.putFile('pat', 'one.txt', chunk('other'), summary('other'))
        assert.deepEqual(replaced.released, [])
        assert.equal((await meta.getFile('pat', 'one.txt'))?.size, 5)
        const gone = await meta.deleteFile('pat', 'two.txt')
        assert.deepEqual(gone?.released, [chunk('same bytes').key])
        const empty = await meta.putFile('pat', 'empty', undefined, summary(''))
        assert.equal(empty.file.chunkCount, 0)
        assert.deepEqual(await meta.manifest(empty.file.id), [])
        assert.deepEqual(await meta.fileWithManifest('pat', 'empty'), {
          file: empty.file,
          manifest: [],
        })
        assert.deepEqual(await meta.fileWithManifest('pat', 'one.txt'), {
          file: (await meta.getFile('pat', 'one.txt'))!,
          manifest: await meta.manifest((await meta.getFile('pat', 'one.txt'))!.id),
        })
        const events = await meta.jobEvents({ after: 0, clientId: 'pat', limit: 100 })
        const created = events.filter((e) => e.type === 'file' && e.data.action === 'created')
        assert.deepEqual(
          created.map((e) => [e.data.name, e.data.replaced, e.data.deduplicated]),
          [
            ['one.txt', false, 0],
            ['two.txt', false, 10],
            ['one.txt', true, 0],
            ['empty', false, 0],
          ],
        )
      }))

    it('commits an upload as a file with its manifest and frequency tables', (t) =>
      withStore(t, async (meta) => {
        const { file, released } = await upload(meta, 'alice', 'dir/a.txt', ['hello ', 'world'])
        assert.deepEqual(released, [])
        assert.equal(file.size, 11)
        assert.equal(file.chunkCount, 2)
        assert.deepEqual(await meta.getFile('alice', 'dir/a.txt'), file)
        const manifest = await meta.manifest(file.id)
        assert.deepEqual(
          manifest.map((m) => [m.seq, m.offset, m.size, m.key]),
          [
            [0, 0, 6, chunk('hello ').key],
            [1, 6, 5, chunk('world').key],
          ],
        )
        assert.equal(manifest[1]!.frequencies[0x6f], 1)
        assert.equal(manifest[0]!.frequencies[0x6c], 2)
      }))

    it('an upload in progress or aborted is not visible, and abort releases its chunks', (t) =>
      withStore(t, async (meta) => {
        const id = await meta.beginUpload('bob', 'x')
        const first = await meta.addUploadChunk(id, 0, chunk('only-in-upload'))
        assert.equal(first.first, true)
        assert.equal(await meta.getFile('bob', 'x'), undefined)
        assert.deepEqual(await meta.abortUpload(id), [chunk('only-in-upload').key])
        assert.equal(await meta.dropChunk(chunk('only-in-upload').key), true)
        await assert.rejects(meta.addUploadChunk(id, 1, chunk('late')), { code: 'E_UPLOAD_GONE' })
        await assert.rejects(meta.commitUpload(id, { size: 0, sha256: '', contentType: '' }), {
          code: 'E_UPLOAD_GONE',
        })
      }))

    it('counts references: shared chunks are released only when their last file goes', (t) =>
      withStore(t, async (meta) => {
        await upload(meta, 'carol', 'one', ['shared', 'mine'])
        await upload(meta, 'carol', 'two', ['shared', 'shared'])
        assert.deepEqual((await meta.deleteFile('carol', 'one'))?.released, [chunk('mine').key])
        assert.equal(await meta.dropChunk(chunk('mine').key), true)
        assert.equal(await meta.dropChunk(chunk('shared').key), false, 'still referenced')
        assert.deepEqual((await meta.deleteFile('carol', 'two'))?.released, [chunk('shared').key])
        assert.equal(await meta.deleteFile('carol', 'two'), undefined)
        assert.deepEqual(await meta.unreferencedChunks(10), [chunk('shared').key])
        assert.equal(await meta.dropChunk(chunk('shared').key), true)
        assert.deepEqual(await meta.unreferencedChunks(10), [])
        assert.equal(await meta.hasChunk(chunk('shared').key), false)
      }))

    it('writing a name again replaces the file and releases what only the old one used', (t) =>
      withStore(t, async (meta) => {
        const old = await upload(meta, 'dave', 'f', ['v1-part', 'common'])
        const next = await upload(meta, 'dave', 'f', ['common', 'v2'])
        assert.notEqual(next.file.id, old.file.id)
        assert.deepEqual(next.released, [chunk('v1-part').key])
        assert.equal((await meta.getFile('dave', 'f'))?.id, next.file.id)
        assert.deepEqual(await meta.manifest(old.file.id), [])
      }))

    it('a reference taken by an upload keeps a chunk alive through a delete', (t) =>
      withStore(t, async (meta) => {
        await upload(meta, 'erin', 'a', ['keep-me'])
        const id = await meta.beginUpload('erin', 'b')
        assert.equal((await meta.addUploadChunk(id, 0, chunk('keep-me'))).first, false)
        assert.deepEqual((await meta.deleteFile('erin', 'a'))?.released, [])
        await meta.commitUpload(id, { size: 7, sha256: 'x', contentType: 'text/plain' })
        assert.equal((await meta.manifest((await meta.getFile('erin', 'b'))!.id)).length, 1)
      }))

    it('lists by prefix in byte order with stable pages, per client', (t) =>
      withStore(t, async (meta) => {
        const names = ['a/1', 'a/2', 'a/10', 'a/é', 'a0', 'b', 'a/']
        for (const n of names) await upload(meta, 'frank', n, [n])
        await upload(meta, 'grace', 'a/secret', ['s'])
        const page1 = await meta.listFiles('frank', { prefix: 'a/', limit: 2 })
        assert.deepEqual(
          page1.map((f) => f.name),
          ['a/', 'a/1'],
        )
        const page2 = await meta.listFiles('frank', { prefix: 'a/', after: 'a/1', limit: 10 })
        assert.deepEqual(
          page2.map((f) => f.name),
          ['a/10', 'a/2', 'a/é'],
        )
        const all = await meta.listFiles('frank', { limit: 100 })
        assert.deepEqual(
          all.map((f) => f.name),
          [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
        )
        assert.equal(await meta.getFile('frank', 'a/secret'), undefined)
      }))

    it('stale uploads are found by age', (t) =>
      withStore(t, async (meta) => {
        const id = await meta.beginUpload('heidi', 'slow')
        assert.ok((await meta.staleUploads(Date.now() + 1000)).includes(id))
        assert.ok(!(await meta.staleUploads(Date.now() - 60_000)).includes(id))
      }))

    it('API keys map hashes to clients and can be revoked', (t) =>
      withStore(t, async (meta) => {
        const hash = createHash('sha256').update(randomUUID()).digest('hex')
        await meta.addApiKey('ivan', hash, 'laptop')
        assert.equal(await meta.hasApiKeys(), true)
        assert.equal(await meta.clientForKey(hash), 'ivan')
        assert.equal(await meta.clientForKey('0'.repeat(64)), undefined)
        const listed = await meta.listApiKeys()
        assert.ok(listed.some((k) => k.clientId === 'ivan' && k.label === 'laptop'))
        assert.equal(await meta.revokeApiKeys('ivan', hash.slice(0, 12)), 1)
        assert.equal(await meta.clientForKey(hash), undefined)
      }))

    it('jobs created many at once: each as alone, in order, once per key (within the batch too), each with its event', (t) =>
      withStore(t, async (meta) => {
        const make = (key: string, client = 'nia') => ({
          id: randomUUID(),
          clientId: client,
          type: 'compress',
          input: `in-${key}`,
          output: `in-${key}.gz`,
          params: {},
          idempotencyKey: key,
          run: { id: 'run-1', step: 'b', item: Number(key.slice(1)) },
        })
        const earlier = await meta.createJob(make('k0'))
        const batch = [make('k1'), make('k0'), make('k2'), make('k1'), make('k3', 'oz')]
        const results = await meta.createJobs(batch)
        assert.deepEqual(
          results.map((r) => [r.created, r.job.idempotencyKey, r.job.clientId]),
          [
            [true, 'k1', 'nia'],
            [false, 'k0', 'nia'],
            [true, 'k2', 'nia'],
            [false, 'k1', 'nia'],
            [true, 'k3', 'oz'],
          ],
        )
        assert.deepEqual(results[1]!.job, earlier.job, 'the job its key made before')
        assert.equal(results[3]!.job.id, results[0]!.job.id, 'a key twice in one batch: one job')
        const { runId, step, item, shard } = results[2]!.job
        assert.deepEqual(
          { runId, step, item, shard },
          { runId: 'run-1', step: 'b', item: 2, shard: null },
        )
        for (const { job, created } of results.filter((r) => r.created)) {
          const events = await meta.jobEvents({ after: 0, jobId: job.id, limit: 10 })
          assert.deepEqual(
            events.map((e) => e.data.state),
            ['queued'],
            `one event for ${job.idempotencyKey} (${created})`,
          )
        }
        const ids = results.map((r) => r.job.id)
        await meta.markJobsPublished(ids)
        for (const id of ids) assert.equal((await meta.jobById(id))?.published, true)
        // Several at once, any clients', those that exist (as one by one).
        const found = await meta.jobsById([...ids, 'no-such-job', ids[0]!])
        assert.deepEqual(found.map((job) => job.id).sort(), [...new Set(ids)].sort())
        for (const job of found) assert.deepEqual(job, await meta.jobById(job.id))
        assert.deepEqual(await meta.jobsById([]), [])
        assert.deepEqual(await meta.createJobs([]), [])
      }))

    it('jobs: idempotent creation and compare-and-set updates', (t) =>
      withStore(t, async (meta) => {
        const job = {
          id: randomUUID(),
          clientId: 'judy',
          type: 'compress',
          input: 'in',
          output: 'in.gz',
          params: { level: 1 },
          idempotencyKey: 'k1',
        }
        const a = await meta.createJob(job)
        assert.equal(a.created, true)
        assert.equal(a.job.state, 'queued')
        const b = await meta.createJob({ ...job, id: randomUUID() })
        assert.deepEqual(b, { job: a.job, created: false })
        const running = await meta.updateJob(a.job.id, a.job.version, { state: 'running' })
        assert.equal(running?.state, 'running')
        assert.equal(await meta.updateJob(a.job.id, a.job.version, { state: 'failed' }), undefined)
        const done = await meta.updateJob(a.job.id, running!.version, {
          state: 'succeeded',
          result: { ratio: 0.5 },
        })
        assert.deepEqual(done?.result, { ratio: 0.5 })
        assert.deepEqual(await meta.getJob('judy', a.job.id), done)
        assert.equal(await meta.getJob('mallory', a.job.id), undefined)
        // Each change of state recorded its event, with the job as the change left it; a patch
        // that changes no state records none.
        const noted = await meta.updateJob(a.job.id, done!.version, { result: { note: 'x' } })
        assert.deepEqual(noted?.result, { note: 'x' })
        const events = await meta.jobEvents({ after: 0, jobId: a.job.id, limit: 10 })
        assert.deepEqual(
          events.map((e) => [e.type, e.data]),
          [a.job, running!, done!].map((j) => [
            'state',
            { state: j.state, output: j.output, result: j.result, error: j.error },
          ]),
        )
        const listed = await meta.listJobs('judy', { state: 'succeeded', limit: 10 })
        assert.deepEqual(
          listed.map((j) => j.id),
          [a.job.id],
        )
      }))

    it('job output: a part stored again changes nothing; the join commits file and state at once', (t) =>
      withStore(t, async (meta) => {
        const { job } = await meta.createJob({
          id: randomUUID(),
          clientId: 'kim',
          type: 'compress',
          input: 'in',
          output: 'out.gz',
          params: {},
        })
        const uploadId = await meta.beginUpload('kim', 'out.gz')
        const running = (await meta.updateJob(job.id, job.version, { state: 'running', uploadId }))!
        assert.equal(running.uploadId, uploadId)
        await meta.addUploadChunk(uploadId, 1, chunk('world'), { sourceSize: 50 })
        await meta.addUploadChunk(uploadId, 0, chunk('hello '), { sourceSize: 60 })
        assert.deepEqual(
          await meta.addUploadChunk(uploadId, 0, chunk('hello '), { sourceSize: 60 }),
          {
            first: false,
          },
        )
        await assert.rejects(meta.addUploadChunk(uploadId, 0, chunk('other')), {
          code: 'E_UPLOAD_CONFLICT',
        })
        assert.deepEqual(await meta.uploadProgress(uploadId), {
          chunks: 2,
          bytes: 11,
          sourceBytes: 110,
        })
        assert.ok(
          !(await meta.staleUploads(Date.now() + 1000)).includes(uploadId),
          'a running job keeps its output upload',
        )
        const summary = { size: 11, sha256: 'ab'.repeat(32), contentType: 'application/gzip' }
        const patch = { state: 'succeeded' as const, result: { ratio: 1 } }
        assert.equal(await meta.commitJobOutput(job.id, job.version, summary, patch), undefined)
        assert.equal(await meta.getFile('kim', 'out.gz'), undefined, 'nothing on a stale version')
        const committed = await meta.commitJobOutput(job.id, running.version, summary, patch)
        assert.equal(committed?.job.state, 'succeeded')
        assert.equal(committed?.file.chunkCount, 2)
        const manifest = await meta.manifest(committed!.file.id)
        assert.deepEqual(
          manifest.map((m) => m.key),
          [chunk('hello ').key, chunk('world').key],
        )
        assert.equal(await meta.commitJobOutput(job.id, running.version, summary, patch), undefined)
        const { released } = (await meta.deleteFile('kim', 'out.gz'))!
        assert.deepEqual(released.sort(), [chunk('hello ').key, chunk('world').key].sort())
      }))

    it('job output of one chunk: the file, its progress and the job committed at once, with no upload', (t) =>
      withStore(t, async (meta) => {
        const newJob = async (output: string) => {
          const { job } = await meta.createJob({
            id: randomUUID(),
            clientId: 'lou',
            type: 'compress',
            input: 'in',
            output,
            params: {},
          })
          return (await meta.updateJob(job.id, job.version, { state: 'running' }))!
        }
        const text = 'one small output'
        const summary = { size: text.length, sha256: chunk(text).key, contentType: 'text/plain' }
        const patch = { state: 'succeeded' as const, result: { ratio: 0.5 } }
        const oneChunk = { chunk: chunk(text), sourceSize: 32, clientId: 'lou', output: 'out.gz' }
        // A file of that name already, holding a chunk nothing else holds: it is replaced.
        await meta.putFile('lou', 'out.gz', chunk('older'), { ...summary, size: 5 })
        const job = await newJob('out.gz')
        const stale = await meta.commitJobOutput(job.id, job.version - 1, summary, patch, oneChunk)
        assert.equal(stale, undefined, 'nothing on a stale version')
        assert.equal((await meta.getFile('lou', 'out.gz'))?.size, 5)
        const committed = await meta.commitJobOutput(job.id, job.version, summary, patch, oneChunk)
        assert.equal(committed?.job.state, 'succeeded')
        assert.deepEqual(committed?.released, [chunk('older').key])
        assert.deepEqual(await meta.getFile('lou', 'out.gz'), committed?.file)
        const manifest = await meta.manifest(committed!.file.id)
        assert.deepEqual(
          manifest.map((m) => [m.key, m.size]),
          [[chunk(text).key, text.length]],
        )
        assert.equal(
          await meta.commitJobOutput(job.id, job.version, summary, patch, oneChunk),
          undefined,
          'committed once',
        )
        const events = await meta.jobEvents({ after: 0, jobId: job.id, limit: 10 })
        assert.deepEqual(
          events.map((e) => [e.type, e.data.state ?? e.data.chunksDone]),
          [
            ['state', 'queued'],
            ['state', 'running'],
            ['progress', 1],
            ['state', 'succeeded'],
          ],
        )
        assert.deepEqual(events[2]!.data, {
          chunksDone: 1,
          chunksTotal: 1,
          bytesIn: 32,
          bytesOut: text.length,
        })
        // An empty output: a file of no chunks.
        const empty = await newJob('empty.gz')
        const none = { size: 0, sha256: chunk('').key, contentType: 'text/plain' }
        const made = await meta.commitJobOutput(empty.id, empty.version, none, patch, {
          chunk: undefined,
          sourceSize: 0,
          clientId: 'lou',
          output: 'empty.gz',
        })
        assert.equal(made?.file.chunkCount, 0)
        assert.equal((await meta.getFile('lou', 'empty.gz'))?.size, 0)
      }))

    it('job events: state changes in order, per job and per client; the outbox flag', (t) =>
      withStore(t, async (meta) => {
        const before = await meta.lastJobEventId()
        const make = async (clientId: string) =>
          (
            await meta.createJob({
              id: randomUUID(),
              clientId,
              type: 'compress',
              input: 'in',
              output: 'in.gz',
              params: {},
            })
          ).job
        const a = await make('liz')
        const b = await make('max')
        await meta.addJobEvent({ clientId: 'liz', jobId: a.id, type: 'progress', data: { n: 1 } })
        await meta.updateJob(a.id, a.version, { state: 'cancelled' })
        const liz = await meta.jobEvents({ after: before, clientId: 'liz', limit: 10 })
        assert.deepEqual(
          liz.map((e) => [e.jobId, e.type, e.data.state ?? e.data.n]),
          [
            [a.id, 'state', 'queued'],
            [a.id, 'progress', 1],
            [a.id, 'state', 'cancelled'],
          ],
        )
        const ids = liz.map((e) => e.id)
        assert.deepEqual(
          ids,
          [...ids].sort((x, y) => x - y),
        )
        const resumed = await meta.jobEvents({ after: ids[0]!, jobId: a.id, limit: 10 })
        assert.deepEqual(
          resumed.map((e) => e.id),
          ids.slice(1),
        )
        assert.deepEqual(
          (await meta.jobEvents({ after: before, jobId: b.id, limit: 10 })).map((e) => e.clientId),
          ['max'],
        )
        assert.equal(await meta.lastJobEventId(), ids[2])

        const unpublished = await meta.unpublishedJobs(Date.now() + 1000, 10)
        assert.deepEqual(unpublished.map((j) => j.id).sort(), [a.id, b.id].sort())
        await meta.markJobsPublished([a.id])
        assert.deepEqual(
          (await meta.unpublishedJobs(Date.now() + 1000, 10)).map((j) => j.id),
          [b.id],
        )
        assert.equal((await meta.jobById(a.id))?.published, true)
      }))

    it('progress events of parts finishing at once never go back, and one part sees the set complete', (t) =>
      withStore(t, async (meta) => {
        const { job } = await meta.createJob({
          id: randomUUID(),
          clientId: 'ned',
          type: 'compress',
          input: 'in',
          output: 'in.gz',
          params: {},
        })
        const uploadId = await meta.beginUpload('ned', 'in.gz')
        await meta.updateJob(job.id, job.version, { state: 'running', uploadId })
        const parts = 12
        const reported = await Promise.all(
          Array.from({ length: parts }, async (_, seq) => {
            await meta.addUploadChunk(uploadId, seq, chunk(`part ${seq}`), {
              sourceSize: 100,
              pending: true,
            })
            return meta.addProgressEvent({
              clientId: 'ned',
              jobId: job.id,
              uploadId,
              seq,
              chunksTotal: parts,
            })
          }),
        )
        // A part referenced but not yet reported (its bytes still being written) does not
        // count: only the last report sees all, so the join starts once.
        assert.equal(reported.filter((p) => p.chunks === parts).length, 1)
        const events = await meta.jobEvents({ after: 0, jobId: job.id, limit: 100 })
        const done = events.filter((e) => e.type === 'progress').map((e) => e.data.chunksDone)
        assert.equal(done.length, parts)
        assert.deepEqual(
          done,
          [...(done as number[])].sort((a, b) => a - b),
        )
        assert.equal(done.at(-1), parts)
      }))

    it('a reader following events while many transactions write them (one or several each) sees each once, in id order', (t) =>
      withStore(t, async (meta) => {
        const start = await meta.lastJobEventId()
        const writers = 60
        let writing = writers
        const written = Promise.all(
          Array.from({ length: writers }, async (_, i) => {
            // Each in a transaction that writes more than its event, so commits interleave.
            const { job } = await meta.createJob({
              id: randomUUID(),
              clientId: 'ora',
              type: 'compress',
              input: `in-${i}`,
              output: `in-${i}.gz`,
              params: {},
            })
            if (i % 2 === 1) await meta.updateJob(job.id, job.version, { state: 'cancelled' })
            else {
              // A commit recording three events at once: the file's, the progress, the state.
              const running = (await meta.updateJob(job.id, job.version, { state: 'running' }))!
              const text = `output ${i}`
              const summary = { size: text.length, sha256: chunk(text).key, contentType: 'x/y' }
              const oneChunk = {
                chunk: chunk(text),
                sourceSize: 1,
                clientId: job.clientId,
                output: job.output,
              }
              const patch = { state: 'succeeded' as const }
              await meta.commitJobOutput(job.id, running.version, summary, patch, oneChunk)
            }
            writing--
          }),
        )
        // A reader that polls as the writes commit: an id it passes is never seen later.
        const seen: number[] = []
        let cursor = start
        for (;;) {
          const done = writing === 0
          const page = await meta.jobEvents({ after: cursor, clientId: 'ora', limit: 1000 })
          for (const e of page) seen.push(e.id)
          if (page.length > 0) cursor = page.at(-1)!.id
          if (done && page.length === 0) break
          await new Promise((resolve) => setImmediate(resolve))
        }
        await written
        const all = (await meta.jobEvents({ after: start, clientId: 'ora', limit: 1000 })).map(
          (e) => e.id,
        )
        assert.equal(all.length, (2 + 5) * (writers / 2), 'two or five events per job')
        assert.deepEqual(seen, all, 'the follower saw every event once, in id order')
        const [first] = await meta.listJobs('ora', { state: 'succeeded', limit: 1 })
        const ofJob = await meta.jobEvents({ after: start, jobId: first!.id, limit: 10 })
        assert.deepEqual(
          ofJob.map((e) => (e.type === 'state' ? e.data.state : e.type)),
          ['queued', 'running', 'progress', 'succeeded'],
          'in the order they were recorded',
        )
      }))

    it('concurrent uploads of one name leave exactly one file and balanced counts', (t) =>
      withStore(t, async (meta) => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => upload(meta, 'ken', 'race', [`common`, `v${i}`])),
        )
        const file = await meta.getFile('ken', 'race')
        assert.ok(results.some((r) => r.file.id === file?.id))
        const released = new Set(results.flatMap((r) => r.released))
        for (let i = 0; i < 8; i++) {
          const key = chunk(`v${i}`).key
          const kept = (await meta.manifest(file!.id)).some((m) => m.key === key)
          assert.equal(released.has(key), !kept, `v${i} released exactly when not kept`)
        }
        assert.deepEqual((await meta.deleteFile('ken', 'race'))?.released.length, 2)
      }))

    it('files of one chunk put and deleted under one name at once: one file or none, and each chunk released exactly when not kept', (t) =>
      withStore(t, async (meta) => {
        const text = (i: number) => `version ${i}`
        const summary = (i: number) => ({
          size: Buffer.byteLength(text(i)),
          sha256: chunk(text(i)).key,
          contentType: 'text/plain',
        })
        const results = await Promise.all([
          ...Array.from({ length: 8 }, (_, i) =>
            meta.putFile('kim', 'race', chunk(text(i)), summary(i)),
          ),
          ...Array.from({ length: 3 }, () => meta.deleteFile('kim', 'race')),
        ])
        const released = results.flatMap((r) => r?.released ?? [])
        const file = await meta.getFile('kim', 'race')
        const kept = new Set(file ? (await meta.manifest(file.id)).map((m) => m.key) : [])
        for (let i = 0; i < 8; i++) {
          const key = chunk(text(i)).key
          const times = released.filter((k) => k === key).length
          assert.equal(times, kept.has(key) ? 0 : 1, `version ${i}: released ${times} times`)
        }
        const events = await meta.jobEvents({ after: 0, clientId: 'kim', limit: 100 })
        const created = events.filter((e) => e.type === 'file' && e.data.action === 'created')
        const deleted = events.filter((e) => e.type === 'file' && e.data.action === 'deleted')
        // Every file that was made is gone but the last: replaced by the next, or deleted.
        const replaced = created.filter((e) => e.data.replaced).length
        assert.equal(created.length, 8)
        assert.equal(replaced + deleted.length, 8 - (file ? 1 : 0))
      }))

    it("the holder of a chunk's lock learns whether the chunk is recorded", (t) =>
      withStore(t, async (meta) => {
        const held = () => meta.withChunkLock(chunk('kept').key, (lock) => lock.stored())
        assert.equal(await held(), false)
        const summary = { size: 4, sha256: chunk('kept').key, contentType: 'text/plain' }
        await meta.putFile('lee', 'kept.txt', chunk('kept'), summary)
        assert.equal(await held(), true)
        const { released } = (await meta.deleteFile('lee', 'kept.txt'))!
        assert.deepEqual(released, [chunk('kept').key])
        assert.equal(await held(), true, 'released, still recorded until dropped')
        assert.equal(await meta.dropChunk(chunk('kept').key), true)
        assert.equal(await held(), false)
      }))

    it('serialises work under one chunk lock', (t) =>
      withStore(t, async (meta) => {
        let inside = 0
        let most = 0
        await Promise.all(
          Array.from({ length: 5 }, () =>
            meta.withChunkLock('k', async () => {
              inside++
              most = Math.max(most, inside)
              await new Promise((r) => setTimeout(r, 5))
              inside--
            }),
          ),
        )
        assert.equal(most, 1)
      }))
  })
}
