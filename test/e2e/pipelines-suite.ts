import assert from 'node:assert/strict'
import { before, describe, it, type TestContext } from 'node:test'
import { gzipSync } from 'node:zlib'
import { textLike } from '../codec/data.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { download, putFile } from '../helpers/jobs-api.ts'
import {
  getRun,
  refusedPipeline,
  runEvents,
  runFinished,
  savePipeline,
  startRun,
} from '../helpers/pipelines-api.ts'
import { type AdapterArgs, sharedPiper } from '../helpers/piper-suite.ts'
import { tarOf } from '../helpers/tar-of.ts'

export interface PipelinesSuiteOptions {
  args: AdapterArgs
}

/** Pipelines end to end over HTTP against a real `piper up`: store, run, follow, fail, cancel. */
export function runPipelinesSuite(name: string, options: PipelinesSuiteOptions): void {
  describe(`pipelines end to end: ${name}`, () => {
    const suite = sharedPiper(options.args, ['--chunk-size', '64K', '--workers', '2'])
    const ready = (t: TestContext) => suite.ready(t)
    let base = ''
    before(() => {
      base = suite.base
    })

    it('stores versions, reads, lists and deletes pipelines; refuses a cycle, naming it', async (t) => {
      if (!(await ready(t))) return
      const body = { name: 'sums', steps: { sha: { kind: 'hash' } } }
      assert.equal((await savePipeline(base, body)).version, 1)
      assert.equal((await savePipeline(base, { ...body, description: 'v2' })).version, 2)
      const latest = (await (await fetch(`${base}/v1/pipelines/sums`)).json()) as Record<
        string,
        unknown
      >
      assert.equal(latest.version, 2)
      assert.equal(latest.description, 'v2')
      const first = (await (await fetch(`${base}/v1/pipelines/sums?version=1`)).json()) as Record<
        string,
        unknown
      >
      assert.equal(first.version, 1)
      const listed = (await (await fetch(`${base}/v1/pipelines`)).json()) as {
        pipelines: { name: string }[]
      }
      assert.ok(listed.pipelines.some((p) => p.name === 'sums'))
      assert.equal((await fetch(`${base}/v1/pipelines/sums`, { method: 'DELETE' })).status, 204)
      assert.equal((await fetch(`${base}/v1/pipelines/sums`)).status, 404)
      assert.equal((await fetch(`${base}/v1/pipelines/sums`, { method: 'DELETE' })).status, 404)

      const cycle = await refusedPipeline(base, {
        name: 'loop',
        steps: { a: { kind: 'compress', use: ['b'] }, b: { kind: 'decompress', use: ['a'] } },
      })
      assert.equal(cycle.code, 'E_PIPELINE_INVALID')
      assert.match(cycle.message, /cycle: (a → b → a|b → a → b)/)
      const params = await refusedPipeline(base, {
        name: 'bad',
        steps: { a: { kind: 'hash', params: { algorithms: ['rot13'] } } },
      })
      assert.match(params.message, /steps\.a\.params\.algorithms\[0\] must be one of/)
    })

    it('fans out over an archive, joins two parents, and every output is right', async (t) => {
      if (!(await ready(t))) return
      const { tar, files } = await tarOf(12)
      await putFile(base, 'in/photos.tar', tar)
      await savePipeline(base, {
        name: 'tagging',
        steps: {
          unpack: { kind: 'extract', output: 'work/{run}/' },
          gz: { kind: 'compress', use: ['unpack'] },
          sums: { kind: 'hash', use: ['unpack'], params: { algorithms: ['md5'] } },
          bundle: { kind: 'tar', use: ['gz', ':input'], output: 'out/{run}.tar' },
        },
      })
      const run = await startRun(base, { pipeline: 'tagging', input: 'in/photos.tar' })
      assert.equal(run.state, 'queued')
      const events = await runEvents(base, run.id)
      const states = events.filter((e) => e.event === 'state').map((e) => e.json.state)
      assert.deepEqual(states, ['queued', 'running', 'succeeded'])
      const ids = events.map((e) => Number(e.id))
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'event ids increase',
      )
      const gzSteps = events.filter((e) => e.event === 'step' && e.json.step === 'gz')
      assert.equal(gzSteps.at(-1)?.json.state, 'succeeded')
      assert.equal(gzSteps.at(-1)?.json.done, 12)

      const done = await getRun(base, run.id)
      assert.equal(done.state, 'succeeded', JSON.stringify(done.error))
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(done.steps).map(([k, s]) => [k, [s.state, s.items, s.done]]),
        ),
        {
          unpack: ['succeeded', 1, 1],
          gz: ['succeeded', 12, 12],
          sums: ['succeeded', 12, 12],
          bundle: ['succeeded', 1, 1],
        },
      )
      assert.deepEqual(done.outputs.bundle, [`out/${run.id}.tar`])
      // The join saw every item exactly once, in item order, then the run's own input.
      const listing = await pipeThrough('tar', ['-t'], await download(base, `out/${run.id}.tar`))
      const expected = [...files.keys()].map((n) => `work/${run.id}/${n}.gz`)
      assert.deepEqual(listing.stdout.toString().trim().split('\n'), [...expected, 'in/photos.tar'])
      for (const [n, bytes] of files) {
        const gz = await download(base, `work/${run.id}/${n}.gz`)
        assert.ok((await pipeThrough('gzip', ['-dc'], gz)).stdout.equals(bytes), n)
      }
    })

    it('a failed item fails the run (fail), feeds its siblings on (continue), or drops its branch (ignore)', async (t) => {
      if (!(await ready(t))) return
      await putFile(base, 'mix/good.gz', gzipSync(Buffer.from('good bytes\n')))
      await putFile(base, 'mix/bad.gz', Buffer.from('not gzip at all'))
      const outcomes: Record<string, [string, Record<string, string>]> = {
        fail: ['failed', { back: 'failed', gz: 'skipped', side: 'succeeded' }],
        continue: ['succeeded', { back: 'failed', gz: 'succeeded', side: 'succeeded' }],
        ignore: ['succeeded', { back: 'failed', gz: 'skipped', side: 'succeeded' }],
      }
      for (const [policy, [state, steps]] of Object.entries(outcomes)) {
        await savePipeline(base, {
          name: `mix-${policy}`,
          steps: {
            back: { kind: 'decompress', on_failure: policy, output: `mix/${policy}/{stem}` },
            gz: { kind: 'compress', use: ['back'] },
            side: { kind: 'hash' },
          },
        })
        const run = await startRun(base, {
          pipeline: `mix-${policy}`,
          inputs: ['mix/good.gz', 'mix/bad.gz'],
        })
        const done = await runFinished(base, run.id)
        assert.equal(done.state, state, `${policy}: ${JSON.stringify(done)}`)
        for (const [step, expected] of Object.entries(steps)) {
          // A failing run ends when its failure is known: a sibling may still be running then.
          if (policy === 'fail' && step === 'side') continue
          assert.equal(done.steps[step]?.state, expected, `${policy}: step ${step}`)
        }
        if (policy !== 'fail') {
          assert.equal(done.steps.back!.done, 1)
          assert.equal(done.steps.back!.failed, 1)
        }
        if (policy === 'fail') {
          // The first failure ends the run: the good item may have been cancelled with it.
          assert.equal(done.error?.code, 'E_NOT_GZIP')
          assert.match(done.error?.message ?? '', /^step back: /)
        }
        if (policy === 'continue')
          assert.deepEqual(done.steps.gz!.outputs, ['mix/continue/good.gz'])
        if (policy !== 'fail') assert.deepEqual(done.result?.failed_steps, ['back'])
      }
    })

    it('uploads and runs in one request; a run is cancelled once, with its jobs', async (t) => {
      if (!(await ready(t))) return
      await savePipeline(base, { name: 'gz', steps: { gz: { kind: 'compress' } } })
      const stored = await putFile(
        base,
        'one/file.txt',
        Buffer.from(textLike(20_000)),
        '?pipeline=gz',
      )
      const run = (stored as unknown as { run: { id: string } }).run
      const done = await runFinished(base, run.id)
      assert.equal(done.state, 'succeeded')
      assert.deepEqual(done.outputs.gz, ['one/file.txt.gz'])

      const missing = await fetch(`${base}/v1/files/one/x.txt?pipeline=nope`, {
        method: 'PUT',
        body: 'x',
      })
      assert.equal(missing.status, 404)
      assert.equal(
        ((await missing.json()) as { error: { code: string } }).error.code,
        'E_PIPELINE_NOT_FOUND',
      )
      assert.equal((await fetch(`${base}/v1/files/one/x.txt`)).status, 404, 'nothing was stored')

      const slow = await startRun(base, { pipeline: 'gz', input: 'one/file.txt' })
      const cancel = await fetch(`${base}/v1/runs/${slow.id}`, { method: 'DELETE' })
      const ended = (await cancel.json()) as { state: string }
      if (cancel.status === 200) {
        assert.equal(ended.state, 'cancelled')
        const again = await fetch(`${base}/v1/runs/${slow.id}`, { method: 'DELETE' })
        assert.equal(again.status, 409)
        const events = await runEvents(base, slow.id)
        assert.equal(events.at(-1)?.json.state, 'cancelled')
      } else {
        // It finished before the cancel arrived: then the cancel is refused.
        assert.equal(cancel.status, 409)
      }
      assert.equal((await fetch(`${base}/v1/runs/run_nope`)).status, 404)
      const bad = await fetch(`${base}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pipeline: 'gz' }),
      })
      assert.equal(bad.status, 400)
    })
  })
}
