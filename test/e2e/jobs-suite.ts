import assert from 'node:assert/strict'
import { before, describe, it, type TestContext } from 'node:test'
import { textLike } from '../codec/data.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { createJob, download, finished, getJob, jobEvents, putFile } from '../helpers/jobs-api.ts'
import { type AdapterArgs, sharedPiper } from '../helpers/piper-suite.ts'

export interface JobsSuiteOptions {
  args: AdapterArgs
}

/** The job path end to end over HTTP against a real `piper up`: upload, job, events, download. */
export function runJobsSuite(name: string, options: JobsSuiteOptions): void {
  describe(`jobs end to end: ${name}`, () => {
    // 64 KiB chunks: the 4 MB text becomes 62 parts.
    const suite = sharedPiper(options.args, ['--chunk-size', '64K', '--workers', '2'])
    const ready = (t: TestContext) => suite.ready(t)
    let base = ''
    let bible: Buffer

    before(() => {
      // Text of 62 chunks of 64 KiB (the last one short), generated: no file outside the repo.
      bible = Buffer.from(textLike(62 * 65536 - 1000))
      base = suite.base
    })

    it('compresses a many-chunk file: events in order, and gzip -d restores it', async (t) => {
      if (!(await ready(t))) return
      const input = await putFile(base, 'books/bible.txt', bible)
      assert.equal(input.chunks, 62)
      const job = await createJob(base, { type: 'compress', input: 'books/bible.txt' })
      assert.equal(job.state, 'queued')
      assert.equal(job.output, 'books/bible.txt.gz')
      const events = await jobEvents(base, job.id)
      const states = events.filter((e) => e.event === 'state').map((e) => e.json.state)
      assert.deepEqual(states, ['queued', 'running', 'succeeded'])
      assert.equal(events.at(-1)?.json.state, 'succeeded', 'the stream ends after the end')
      const ids = events.map((e) => Number(e.id))
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'event ids increase',
      )
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.json)
      assert.ok(progress.length >= 1)
      const done = progress.map((p) => Number(p.chunks_done))
      assert.deepEqual(
        done,
        [...done].sort((a, b) => a - b),
        'progress never goes back',
      )
      assert.deepEqual(progress.at(-1), {
        job: job.id,
        chunks_done: 62,
        chunks_total: 62,
        bytes_in: bible.length,
        bytes_out: progress.at(-1)?.bytes_out,
      })

      const result = (await getJob(base, job.id)).result!
      assert.equal(result.input_size, bible.length)
      assert.ok(Number(result.output_size) < bible.length * 0.6, `ratio ${result.ratio}`)
      const gz = await download(base, 'books/bible.txt.gz')
      assert.equal(gz.length, result.output_size)
      const restored = await pipeThrough('gzip', ['-d', '-c'], gz)
      assert.equal(restored.code, 0, restored.stderr)
      assert.ok(restored.stdout.equals(bible), 'gzip -d gives back the original')
      const listed = (await (await fetch(`${base}/v1/files?prefix=books/`)).json()) as {
        files: { name: string; chunks: number }[]
      }
      const output = listed.files.find((f) => f.name === 'books/bible.txt.gz')
      assert.equal(output?.chunks, 62, 'one gzip member per input chunk, none twice')
    })

    it('a one-chunk job, whose start is recorded with its end, still reads queued, running, succeeded', async (t) => {
      if (!(await ready(t))) return
      const small = Buffer.from('one chunk of text, compressed in the start task\n'.repeat(50))
      await putFile(base, 'small/one.txt', small)
      const job = await createJob(base, { type: 'compress', input: 'small/one.txt' })
      const events = await jobEvents(base, job.id)
      const states = events.filter((e) => e.event === 'state').map((e) => e.json)
      assert.deepEqual(
        states.map((e) => e.state),
        ['queued', 'running', 'succeeded'],
      )
      assert.deepEqual(
        states.map((e) => e.job),
        [job.id, job.id, job.id],
      )
      const result = (await getJob(base, job.id)).result!
      assert.equal(result.input_size, small.length)
      const restored = await pipeThrough(
        'gzip',
        ['-d', '-c'],
        await download(base, 'small/one.txt.gz'),
      )
      assert.ok(restored.stdout.equals(small), 'gzip -d gives back the original')
    })

    it('decompresses Piper output in parts and a gzip -9 file as one stream', async (t) => {
      if (!(await ready(t))) return
      await putFile(base, 'd/bible.txt', bible)
      const compress = await createJob(base, { type: 'compress', input: 'd/bible.txt' })
      assert.equal((await finished(base, compress.id)).state, 'succeeded')
      const parts = await createJob(base, {
        type: 'decompress',
        input: 'd/bible.txt.gz',
        output: 'd/bible.back',
      })
      assert.equal((await finished(base, parts.id)).state, 'succeeded')
      assert.ok((await download(base, 'd/bible.back')).equals(bible))

      const world = Buffer.from(textLike(2_500_000, 9))
      const gzip9 = await pipeThrough('gzip', ['-9', '-c'], world)
      await putFile(base, 'd/world.txt.gz', gzip9.stdout)
      const stream = await createJob(base, { type: 'decompress', input: 'd/world.txt.gz' })
      assert.equal(stream.output, 'd/world.txt')
      const done = await finished(base, stream.id)
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error))
      assert.equal(done.result?.output_size, world.length)
      assert.ok((await download(base, 'd/world.txt')).equals(world))
    })

    it('starts a job from the upload (?then=compress); an Idempotency-Key repeats the job', async (t) => {
      if (!(await ready(t))) return
      const stored = await putFile(base, 'then/a.txt', bible.subarray(0, 300_000), '?then=compress')
      assert.equal(stored.job?.type, 'compress')
      assert.equal((await finished(base, stored.job!.id)).state, 'succeeded')
      const gz = await download(base, 'then/a.txt.gz')
      assert.ok((await pipeThrough('gzip', ['-dc'], gz)).stdout.equals(bible.subarray(0, 300_000)))

      const key = { 'idempotency-key': `retry-${Date.now()}` }
      const first = await createJob(
        base,
        { type: 'compress', input: 'then/a.txt', output: 'x.gz' },
        key,
      )
      const again = await createJob(
        base,
        { type: 'compress', input: 'then/a.txt', output: 'x.gz' },
        key,
      )
      assert.equal(again.id, first.id)
    })

    it('answers bad job requests with 400/404/409 and a message', async (t) => {
      if (!(await ready(t))) return
      await putFile(base, 'bad/in.txt', Buffer.from('hello'))
      const post = (body: string) =>
        fetch(`${base}/v1/jobs`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        })
      const cases: [string, number, string][] = [
        ['{"type":"shrink","input":"bad/in.txt"}', 400, 'E_JOB_REQUEST'],
        ['{"type":"compress"}', 400, 'E_JOB_REQUEST'],
        ['{"type":"compress","input":"bad/none.txt"}', 404, 'E_FILE_NOT_FOUND'],
        ['{"type":"compress","input":"bad/in.txt","params":{"level":9}}', 400, 'E_JOB_REQUEST'],
        [
          '{"type":"decompress","input":"bad/in.txt","params":{"maxOutputBytes":-1}}',
          400,
          'E_JOB_REQUEST',
        ],
        ['{"type":"compress","input":"bad/../x"}', 400, 'E_FILE_NAME'],
        ['not json', 400, 'E_BAD_REQUEST'],
      ]
      for (const [body, status, code] of cases) {
        const res = await post(body)
        const error = ((await res.json()) as { error: { code: string; message: string } }).error
        assert.equal(res.status, status, body)
        assert.equal(error.code, code, body)
        assert.ok(error.message.length > 0)
      }
      const missing = await fetch(`${base}/v1/jobs/job_000000000000000000000`)
      assert.equal(missing.status, 404)
      const job = await createJob(base, { type: 'compress', input: 'bad/in.txt' })
      await finished(base, job.id)
      const cancel = await fetch(`${base}/v1/jobs/${job.id}`, { method: 'DELETE' })
      assert.equal(cancel.status, 409)
      const state = await fetch(`${base}/v1/jobs?state=sleeping`)
      assert.equal(state.status, 400)
      // Newest first, page by page: ids going down, the later of two jobs before the earlier
      // (other tests of the suite make jobs meanwhile: their ids fall in between or above).
      const later = await createJob(base, { type: 'compress', input: 'bad/in.txt' })
      type Page = { jobs: { id: string }[]; next_cursor: string | null }
      const seen: string[] = []
      for (let cursor = ''; !seen.includes(job.id); ) {
        const page = (await (
          await fetch(`${base}/v1/jobs?order=newest&limit=2${cursor && `&cursor=${cursor}`}`)
        ).json()) as Page
        seen.push(...page.jobs.map((j) => j.id))
        assert.ok(page.next_cursor || seen.includes(job.id), 'the listing ended before the job')
        cursor = page.next_cursor ?? ''
      }
      assert.deepEqual(seen, [...seen].sort().reverse())
      assert.ok(seen.indexOf(later.id) < seen.indexOf(job.id), seen.join(' '))
      for (const path of ['/v1/jobs?order=sideways', '/v1/pipelines?order=newest']) {
        const refused = await fetch(`${base}${path}`)
        assert.equal(refused.status, 400, path)
        assert.match(
          ((await refused.json()) as { error: { message: string } }).error.message,
          /^order must be/,
        )
      }
    })

    it('fails a job on corrupt input with the codec error, at once', async (t) => {
      if (!(await ready(t))) return
      const gz = (await pipeThrough('gzip', ['-c'], bible.subarray(0, 200_000))).stdout
      gz[gz.length - 6]! ^= 0xff // the CRC32 in the trailer
      await putFile(base, 'corrupt/crc.gz', gz)
      const crc = await finished(
        base,
        (await createJob(base, { type: 'decompress', input: 'corrupt/crc.gz' })).id,
      )
      assert.equal(crc.state, 'failed')
      assert.match(crc.error!.code, /^E_(CHECKSUM|CORRUPT_DATA)$/)
      await putFile(base, 'corrupt/cut.gz', gz.subarray(0, gz.length >> 1))
      const cut = await finished(
        base,
        (await createJob(base, { type: 'decompress', input: 'corrupt/cut.gz' })).id,
      )
      assert.equal(cut.state, 'failed')
      assert.equal(cut.error!.code, 'E_TRUNCATED')
      assert.match(cut.error!.message, /member 0/)
      const listed = await fetch(`${base}/v1/files/corrupt/cut`)
      assert.equal(listed.status, 404, 'a failed job leaves no output')
    })

    it('resumes the event stream after Last-Event-ID without gaps', async (t) => {
      if (!(await ready(t))) return
      await putFile(base, 'resume/in.txt', bible.subarray(0, 1_000_000))
      const job = await createJob(base, { type: 'compress', input: 'resume/in.txt' })
      const all = await jobEvents(base, job.id)
      const cut = Math.floor(all.length / 2)
      const rest = await jobEvents(base, job.id, all[cut - 1]!.id)
      assert.deepEqual(
        rest.map((e) => e.id),
        all.slice(cut).map((e) => e.id),
      )
    })
  })
}
