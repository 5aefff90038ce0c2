import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { createJob, finished, getJob, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'

describe('piper up --kinds, and the pipeline commands', () => {
  it('a process runs only the kinds it is given; a pattern that names none is a usage error', async () => {
    const bad = await runPiper(['up', '--port', '0', '--kinds', 'compress,resize'])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(
      bad.stderr,
      /kinds.*"resize" matches no kind \(known: compress, decompress, hash, tar, extract, image\.resize, /,
    )

    const piper = await startPiper(['--kinds', 'hash,de*'])
    try {
      await putFile(piper.url, 'k/a.txt', Buffer.from('kinds\n'))
      const gz = await createJob(piper.url, { type: 'compress', input: 'k/a.txt' })
      const sum = await createJob(piper.url, { type: 'hash', input: 'k/a.txt' })
      assert.equal((await finished(piper.url, sum.id)).state, 'succeeded')
      // No worker here runs compress: its job waits on its queue for one that does.
      assert.equal((await getJob(piper.url, gz.id)).state, 'queued')
    } finally {
      assert.equal(await piper.stop(), 0, piper.output())
    }
  })

  it('pipelines apply reads YAML, run starts a run, watch follows its steps to the end', async () => {
    const piper = await startPiper()
    const dir = await mkdtemp(join(tmpdir(), 'piper-cli-pipelines-'))
    const env = cleanEnv({ PIPER_URL: piper.url })
    try {
      await putFile(piper.url, 'p/in.txt', Buffer.from('a line\n'.repeat(1000)))
      const good = join(dir, 'p.yaml')
      await writeFile(
        good,
        'name: cli\nsteps:\n  gz: { kind: compress }\n  sums: { kind: hash, use: [gz] }\n',
      )
      const applied = await runPiper(['pipelines', 'apply', good], { env })
      assert.equal(applied.code, 0, applied.stderr)
      assert.equal(JSON.parse(applied.stdout).version, 1)

      const cycle = join(dir, 'cycle.json')
      await writeFile(
        cycle,
        JSON.stringify({ name: 'c', steps: { a: { kind: 'compress', use: ['a'] } } }),
      )
      const refused = await runPiper(['pipelines', 'apply', cycle], { env })
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /steps\.a\.use names the step itself/)
      const junk = join(dir, 'junk.yaml')
      await writeFile(junk, 'steps: [unclosed\n')
      const unreadable = await runPiper(['pipelines', 'apply', junk], { env })
      assert.equal(unreadable.code, 2, unreadable.stderr)
      assert.match(unreadable.stderr, /is not JSON or YAML/)

      const listed = await runPiper(['pipelines'], { env })
      assert.equal(listed.stdout, 'cli  v1  gz(compress) sums(hash)\n')
      const started = await runPiper(['run', 'cli', 'p/in.txt'], { env })
      assert.equal(started.code, 0, started.stderr)
      const run = JSON.parse(started.stdout) as { id: string; state: string }
      assert.equal(run.state, 'queued')
      const watched = await runPiper(['watch', run.id], { env })
      assert.equal(watched.code, 0, watched.stderr)
      const lines = watched.stdout.trim().split('\n')
      assert.ok(lines.includes('gz  succeeded  1/1'), watched.stdout)
      assert.ok(lines.includes('sums  succeeded  1/1'), watched.stdout)
      assert.match(lines.at(-1)!, new RegExp(`^${run.id}  succeeded  cli v1  gz 1/1, sums 1/1$`))
      const runs = await runPiper(['runs', '--state', 'succeeded'], { env })
      assert.match(runs.stdout, new RegExp(`^${run.id}  succeeded`))

      // A run, or a job, that ends otherwise: its last line on stdout, and exit 1 saying why.
      const bad = join(dir, 'bad.json')
      await writeFile(bad, JSON.stringify({ name: 'bad', steps: { un: { kind: 'decompress' } } }))
      assert.equal((await runPiper(['pipelines', 'apply', bad], { env })).code, 0)
      const failing = JSON.parse((await runPiper(['run', 'bad', 'p/in.txt'], { env })).stdout)
      const failed = await runPiper(['watch', failing.id], { env })
      assert.equal(failed.code, 1, failed.stdout)
      assert.match(failed.stdout.trim().split('\n').at(-1)!, new RegExp(`^${failing.id}  failed`))
      assert.match(failed.stderr, new RegExp(`^piper: ${failing.id} failed \\(E_\\w+\\)\n$`))
      const newest = await runPiper(['runs', '--newest', '--limit', '1'], { env })
      assert.match(newest.stdout, new RegExp(`^${failing.id}  failed  +bad v1 .*\n$`))
      const job = await createJob(piper.url, { type: 'decompress', input: 'p/in.txt' })
      const lastJob = await runPiper(['jobs', '--newest', '--limit', '1'], { env })
      assert.match(lastJob.stdout, new RegExp(`^${job.id}  `))
      assert.equal(lastJob.stdout.split('\n').length, 2, lastJob.stdout)
      // --json: the API's objects, a line each.
      const asJson = await runPiper(['jobs', '--newest', '--limit', '2', '--json'], { env })
      const jsonJobs = asJson.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; type: string })
      assert.equal(jsonJobs.length, 2)
      assert.deepEqual([jsonJobs[0]!.id, jsonJobs[0]!.type], [job.id, 'decompress'])
      const runsJson = await runPiper(['runs', '--json', '--state', 'failed'], { env })
      assert.deepEqual(
        runsJson.stdout
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line).id),
        [failing.id],
      )
      const files = await runPiper(['ls', '--json', 'p/'], { env })
      assert.deepEqual(JSON.parse(files.stdout.split('\n')[0]!).name, 'p/in.txt')
      const failedJob = await runPiper(['watch', job.id], { env })
      assert.equal(failedJob.code, 1, failedJob.stdout)
      assert.match(failedJob.stderr, new RegExp(`^piper: ${job.id} failed \\(E_\\w+\\)\n$`))
      const kinds = await runPiper(['kinds'], { env })
      assert.match(kinds.stdout, /^tar +files → file /m)
    } finally {
      await rm(dir, { recursive: true, force: true })
      assert.equal(await piper.stop(), 0, piper.output())
    }
  })
})
