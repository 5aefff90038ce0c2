import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { crc32, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { pack as tarPack } from 'tar-stream'
import { crc32c } from '../../src/jobs/crc32c.ts'
import { isTerminal, KindRegistry, parseJobRequest } from '../../src/jobs/index.ts'
import { hash, tar } from '../../src/jobs/kinds/index.ts'
import type { JobRecord } from '../../src/meta/index.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { type StartedJobSystem, startJobSystem, until } from '../helpers/job-system.ts'

/** CRC-32C bit by bit, straight from its definition: the reference the fast one must match. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

describe('crc32c', () => {
  it('matches the RFC 3720 check value and the bitwise definition, and continues across pieces', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa) // RFC 3720 §B.4: 32 bytes of zeros
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const at = Math.min(cut, bytes.length)
        const whole = crc32c(bytes)
        assert.equal(whole, crc32cBitwise(bytes))
        assert.equal(crc32c(bytes.subarray(at), crc32c(bytes.subarray(0, at))), whole)
      }),
      { numRuns: 300 },
    )
  })
})

describe('job kinds', () => {
  let s: StartedJobSystem
  let scratch: string
  before(async () => {
    s = await startJobSystem({ workers: true, chunkSize: 1000 })
    scratch = await mkdtemp(join(tmpdir(), 'piper-kinds-'))
  })
  after(async () => {
    await s.close()
    await rm(scratch, { recursive: true, force: true })
  })

  /** Runs a job of the request body for `client` and waits for it to end. */
  async function runJob(client: string, body: Record<string, unknown>): Promise<JobRecord> {
    const { job } = await s.jobs.create(client, parseJobRequest(body, s.kinds))
    return until(async () => {
      const now = await s.jobs.get(client, job.id)
      return isTerminal(now.state) ? now : undefined
    }, `job ${job.id} to end`)
  }

  async function read(client: string, name: string): Promise<Buffer> {
    const parts: Uint8Array[] = []
    for await (const part of s.files.read(await s.files.stat(client, name))) parts.push(part)
    return Buffer.concat(parts)
  }

  it('hash: every algorithm in one read, equal to the reference implementations', async () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251))
    await s.files.put('h', 'data.bin', [bytes])
    const job = await runJob('h', {
      type: 'hash',
      input: 'data.bin',
      params: { algorithms: ['sha256', 'sha1', 'md5', 'crc32', 'crc32c'] },
    })
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
    assert.equal(job.output, '')
    const r = job.result!
    assert.equal(r.size, 5000)
    for (const algorithm of ['sha256', 'sha1', 'md5']) {
      assert.equal(r[algorithm], createHash(algorithm).update(bytes).digest('hex'), algorithm)
    }
    assert.equal(r.crc32, crc32(bytes).toString(16).padStart(8, '0'))
    assert.equal(r.crc32c, crc32cBitwise(bytes).toString(16).padStart(8, '0'))
  })

  it('params are checked against the kind schema, naming the field', () => {
    assert.throws(
      () =>
        parseJobRequest({ type: 'hash', input: 'a', params: { algorithms: ['sha3'] } }, s.kinds),
      { code: 'E_JOB_REQUEST', message: /params\.algorithms\[0\] must be one of "sha256"/ },
    )
    assert.throws(
      () => parseJobRequest({ type: 'compress', input: 'a', params: { level: 9 } }, s.kinds),
      { code: 'E_JOB_REQUEST', message: /params has an unknown field "level"/ },
    )
    assert.throws(
      () =>
        parseJobRequest({ type: 'decompress', input: 'a', params: { maxOutputBytes: 0 } }, s.kinds),
      { code: 'E_JOB_REQUEST', message: /params\.maxOutputBytes must be >= 1/ },
    )
    assert.throws(() => parseJobRequest({ type: 'hash', input: 'a', output: 'b' }, s.kinds), {
      code: 'E_JOB_REQUEST',
      message: /writes no file/,
    })
    assert.throws(() => parseJobRequest({ type: 'compress', inputs: ['a', 'b'] }, s.kinds), {
      code: 'E_JOB_REQUEST',
      message: /reads one file/,
    })
    assert.throws(() => parseJobRequest({ type: 'resize', input: 'a' }, s.kinds), {
      code: 'E_JOB_REQUEST',
      message: /^type must be one of compress, decompress, hash, tar, extract/,
    })
  })

  it('tar then extract gives back every file byte for byte; GNU tar reads the archive too', async () => {
    const name = fc.stringMatching(/^[a-z0-9_]{1,12}(\/[a-z0-9_][a-z0-9_.]{0,11}){0,3}$/)
    const entry = fc.record({ name, bytes: fc.uint8Array({ maxLength: 3500 }) })
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(entry, { minLength: 1, maxLength: 6, selector: (e) => e.name }),
        async (entries) => {
          // A name may not be both a file and a folder of another.
          const names = entries.map((e) => e.name)
          fc.pre(!names.some((a) => names.some((b) => b.startsWith(`${a}/`))))
          const client = `t${round++}`
          for (const e of entries) await s.files.put(client, `src/${e.name}`, [e.bytes])
          const tarred = await runJob(client, {
            type: 'tar',
            inputs: entries.map((e) => `src/${e.name}`),
            output: 'all.tar',
            params: { base: 'src' },
          })
          assert.equal(tarred.state, 'succeeded', JSON.stringify(tarred.error))
          const extracted = await runJob(client, {
            type: 'extract',
            input: 'all.tar',
            output: 'out/',
          })
          assert.equal(extracted.state, 'succeeded', JSON.stringify(extracted.error))
          assert.deepEqual(
            extracted.result!.outputs,
            entries.map((e) => `out/${e.name}`),
          )
          for (const e of entries)
            assert.deepEqual(await read(client, `out/${e.name}`), Buffer.from(e.bytes))
          const listed = await pipeThrough('tar', ['-t'], await read(client, 'all.tar'))
          assert.equal(listed.code, 0, listed.stderr)
          assert.deepEqual(listed.stdout.toString().trim().split('\n'), names)
        },
      ),
      { numRuns: 8 },
    )
  })

  it('extract stores entries concurrently yet as tar reads them: a repeated name ends as its last entry, outputs in archive order', async () => {
    const name = fc.constantFrom('a', 'b', 'c/d', 'e', 'f', 'g', 'h')
    // A number stands for that many bytes (a counterexample stays readable): one past the size
    // read whole, so it streams while small ones are still being stored.
    const bytes = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 2500 }), weight: 12 },
      { arbitrary: fc.constant((1 << 20) + 1), weight: 1 },
    )
    const bytesOf = (b: Uint8Array | number) =>
      typeof b === 'number' ? Buffer.alloc(b, 7) : Buffer.from(b)
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name, bytes }), { minLength: 1, maxLength: 30 }),
        async (entries) => {
          const client = `concurrent${round++}`
          const archive = tarPack()
          for (const e of entries) archive.entry({ name: e.name }, bytesOf(e.bytes))
          archive.finalize()
          const parts: Buffer[] = []
          for await (const part of archive) parts.push(part as Buffer)
          await s.files.put(client, 'in.tar', [Buffer.concat(parts)])
          const job = await runJob(client, { type: 'extract', input: 'in.tar', output: 'o/' })
          assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
          const last = new Map<string, Uint8Array | number>()
          for (const e of entries) {
            last.delete(e.name)
            last.set(e.name, e.bytes)
          }
          assert.deepEqual(
            job.result!.outputs,
            [...last.keys()].map((n) => `o/${n}`),
          )
          for (const [n, b] of last) assert.ok((await read(client, `o/${n}`)).equals(bytesOf(b)), n)
        },
      ),
      { numRuns: 12 },
    )
  })

  it('extract reads a tar.gz made by GNU tar, long and non-ASCII names included', async () => {
    const dir = join(scratch, 'gnu')
    const long = `${'deep/'.repeat(30)}file.txt`
    await pipeThrough(
      'mkdir',
      ['-p', join(dir, 'deep/'.repeat(30)), join(dir, 'naïve')],
      new Uint8Array(),
    )
    await writeFile(join(dir, long), 'long name\n')
    await writeFile(join(dir, 'naïve/café.txt'), 'accents\n')
    const made = await pipeThrough(
      'tar',
      ['-C', dir, '-czf', '-', long, 'naïve/café.txt'],
      new Uint8Array(),
    )
    assert.equal(made.code, 0, made.stderr)
    await s.files.put('g', 'bundle.tgz', [made.stdout])
    const job = await runJob('g', { type: 'extract', input: 'bundle.tgz' })
    assert.equal(job.state, 'succeeded', JSON.stringify(job.error))
    assert.equal(job.output, 'bundle/')
    assert.deepEqual(await read('g', `bundle/${long}`), await readFile(join(dir, long)))
    assert.equal((await read('g', 'bundle/naïve/café.txt')).toString(), 'accents\n')
  })

  /** A tar with exactly these entries, written by tar-stream (GNU tar refuses to write some). */
  async function rawTar(
    entries: { name: string; body?: string; type?: 'symlink'; linkname?: string }[],
  ) {
    const archive = tarPack()
    for (const e of entries) {
      if (e.type === 'symlink')
        archive.entry({ name: e.name, type: 'symlink', linkname: e.linkname })
      else archive.entry({ name: e.name }, e.body ?? '')
    }
    archive.finalize()
    const parts: Buffer[] = []
    for await (const part of archive) parts.push(part as Buffer)
    return Buffer.concat(parts)
  }

  it('extract refuses entries that climb out or are absolute, and writes nothing outside its prefix', async () => {
    for (const [i, hostile] of [
      '../evil.txt',
      '/etc/passwd',
      'a/../../evil',
      'ok/..\\..\\evil',
      'C:/x',
    ].entries()) {
      const client = `x${i}`
      await s.files.put(client, 'evil.tar', [
        await rawTar([
          { name: 'fine.txt', body: 'x' },
          { name: hostile, body: 'y' },
        ]),
      ])
      const job = await runJob(client, { type: 'extract', input: 'evil.tar', output: 'safe/' })
      assert.equal(job.state, 'failed', hostile)
      assert.equal(job.error?.code, 'E_ARCHIVE_ENTRY', `${hostile}: ${job.error?.message}`)
      const names = (await s.files.list(client, { limit: 100 })).map((f) => f.name)
      assert.ok(
        names.every((n) => n === 'evil.tar' || n.startsWith('safe/')),
        names.join(', '),
      )
    }
  })

  it('extract never overwrites the archive it reads', async () => {
    const archive = await rawTar([{ name: 'x.tar', body: 'not the archive' }])
    await s.files.put('self', 'self/x.tar', [archive])
    const job = await runJob('self', { type: 'extract', input: 'self/x.tar', output: 'self/' })
    assert.equal(job.error?.code, 'E_ARCHIVE_ENTRY')
    assert.deepEqual(await read('self', 'self/x.tar'), archive)
  })

  it('extract skips links and counts them; its limits fail the job before storing the entry', async () => {
    await s.files.put('l', 'links.tar', [
      await rawTar([
        { name: 'a.txt', body: 'aaa' },
        { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'b.txt', body: 'bbbb' },
      ]),
    ])
    const ok = await runJob('l', { type: 'extract', input: 'links.tar' })
    assert.equal(ok.state, 'succeeded', JSON.stringify(ok.error))
    assert.deepEqual(ok.result!.outputs, ['links/a.txt', 'links/b.txt'])
    assert.equal(ok.result!.skipped, 1)

    const many = await runJob('l', {
      type: 'extract',
      input: 'links.tar',
      output: 'm/',
      params: { maxEntries: 1 },
    })
    assert.equal(many.error?.code, 'E_OUTPUT_LIMIT')
    const big = await runJob('l', {
      type: 'extract',
      input: 'links.tar',
      output: 'n/',
      params: { maxEntryBytes: 3 },
    })
    assert.equal(big.error?.code, 'E_OUTPUT_LIMIT')
    await assert.rejects(s.files.stat('l', 'n/b.txt'), { code: 'E_FILE_NOT_FOUND' })
  })

  it('extract fails a truncated, damaged or foreign input with a code, and the worker goes on', async () => {
    const good = await rawTar([{ name: 'a.txt', body: 'x'.repeat(2000) }])
    const cases: [string, Uint8Array, string[]][] = [
      ['truncated', good.subarray(0, 1200), ['E_ARCHIVE_CORRUPT']],
      [
        'random',
        Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131) % 256)),
        ['E_ARCHIVE_CORRUPT'],
      ],
      ['bad gzip', gzipSync(good).subarray(0, 40), ['E_TRUNCATED', 'E_CORRUPT_DATA']],
    ]
    for (const [label, bytes, codes] of cases) {
      await s.files.put('c', `${label}.tar`, [bytes])
      const job = await runJob('c', {
        type: 'extract',
        input: `${label}.tar`,
        output: `${label.replace(' ', '-')}/`,
      })
      assert.equal(job.state, 'failed', label)
      assert.ok(codes.includes(job.error!.code), `${label}: ${JSON.stringify(job.error)}`)
    }
    // Fuzz: whatever the bytes, the job ends (succeeded or failed with a code); nothing hangs.
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.boolean(),
        async (bytes, zip) => {
          const name = `fuzz${n++}.tar`
          await s.files.put('f', name, [zip ? gzipSync(bytes) : bytes])
          const job = await runJob('f', { type: 'extract', input: name, output: `${name}.d/` })
          assert.ok(
            job.state === 'succeeded' || /^E_[A-Z_]+$/.test(job.error?.code ?? ''),
            JSON.stringify(job.error),
          )
        },
      ),
      { numRuns: 20 },
    )
  })
})

describe('chunk analyses are what kinds ask for', () => {
  it('registered kinds say what uploads measure; compress still codes chunks stored without a histogram', async () => {
    assert.deepEqual([...new KindRegistry().chunkAnalyses()], ['histogram'])
    assert.deepEqual([...new KindRegistry([hash, tar]).chunkAnalyses()], [])
    const s = await startJobSystem({ workers: true, chunkSize: 1000, histogram: false })
    try {
      const text = Buffer.from('no histogram was measured for these chunks\n'.repeat(200))
      const file = await s.files.put('n', 'plain.txt', [text])
      const manifest = await s.files.manifest(file)
      assert.ok(manifest.every((entry) => entry.frequencies.every((count) => count === 0)))
      const { job } = await s.jobs.create(
        'n',
        parseJobRequest({ type: 'compress', input: 'plain.txt' }, s.kinds),
      )
      const done = await until(async () => {
        const now = await s.jobs.get('n', job.id)
        return isTerminal(now.state) ? now : undefined
      }, 'the compress job')
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error))
      const parts: Uint8Array[] = []
      for await (const part of s.files.read(await s.files.stat('n', 'plain.txt.gz')))
        parts.push(part)
      const restored = await pipeThrough('gzip', ['-dc'], Buffer.concat(parts))
      assert.ok(restored.stdout.equals(text), 'gzip -d restores it')
      assert.ok(
        Number(done.result!.ratio) < 0.7,
        `coded with a measured table: ratio ${done.result!.ratio}`,
      )
    } finally {
      await s.close()
    }
  })
})
