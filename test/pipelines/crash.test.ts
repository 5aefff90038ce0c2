import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readSse } from '../../src/cli/sse-reader.ts'
import { shardOf } from '../../src/pipelines/index.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { download, putFile } from '../helpers/jobs-api.ts'
import { runEvents, runFinished, savePipeline, startRun } from '../helpers/pipelines-api.ts'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'
import { tarOf } from '../helpers/tar-of.ts'

const ARGS = ['--chunk-size', '64K', '--workers', '2']
const ITEMS = 50

/** Resolves once a step event shows `step` with at least `done` items done. */
async function stepReached(base: string, run: string, step: string, done: number) {
  const res = await fetch(`${base}/v1/runs/${run}/events`)
  for await (const event of readSse(res.body!)) {
    const data = JSON.parse(event.data) as Record<string, unknown>
    if (event.event === 'step' && data.step === step && Number(data.done) >= done) {
      await res.body!.cancel().catch(() => {})
      return
    }
  }
}

async function kill(piper: RunningPiper): Promise<void> {
  piper.child.kill('SIGKILL')
  await piper.exited
}

describe('pipeline runs survive kill -9 of piper up', () => {
  it('a 4-step run (50-item fan-out over 3 shards, a two-parent join) killed at several points ends once, whole', async () => {
    const { tar, files } = await tarOf(ITEMS)
    let piper = await startPiper(ARGS)
    const data = piper.data
    await putFile(piper.url, 'in/photos.tar', tar)
    await savePipeline(piper.url, {
      name: 'crash',
      steps: {
        unpack: { kind: 'extract', output: 'work/' },
        gz: { kind: 'compress', use: ['unpack'], shards: 3 },
        sums: { kind: 'hash', use: ['unpack'] },
        bundle: { kind: 'tar', use: ['gz', ':input'], output: 'out/bundle.tar' },
      },
    })
    const run = await startRun(piper.url, { pipeline: 'crash', input: 'in/photos.tar' })
    // Kill while the fan-out is under way, again later, and once more near its end.
    for (const done of [1, 20, 40]) {
      await stepReached(piper.url, run.id, 'gz', done)
      await kill(piper)
      piper = await startPiper(ARGS, {}, data)
    }
    try {
      const ended = await runFinished(piper.url, run.id)
      assert.equal(ended.state, 'succeeded', JSON.stringify(ended.error))
      const states = (await runEvents(piper.url, run.id))
        .filter((e) => e.event === 'state')
        .map((e) => e.json.state)
      assert.deepEqual(states, ['queued', 'running', 'succeeded'], 'each run state once')
      const counts = Object.fromEntries(
        Object.entries(ended.steps).map(([name, s]) => [
          name,
          [s.state, s.items, s.done, s.jobs.length],
        ]),
      )
      assert.deepEqual(counts, {
        unpack: ['succeeded', 1, 1, 1],
        gz: ['succeeded', ITEMS, ITEMS, ITEMS],
        sums: ['succeeded', ITEMS, ITEMS, ITEMS],
        bundle: ['succeeded', 1, 1, 1],
      })
      // One job per item: no item was created twice, however often its advance ran.
      const jobs = (await (await fetch(`${piper.url}/v1/jobs?limit=1000`)).json()) as {
        jobs: {
          run?: { id: string; step: string; item: number; shard?: number }
          input: string
          state: string
        }[]
      }
      const mine = jobs.jobs.filter((j) => j.run?.id === run.id)
      assert.equal(mine.length, 2 + 2 * ITEMS)
      assert.equal(new Set(mine.map((j) => `${j.run!.step}/${j.run!.item}`)).size, mine.length)
      // Nothing left in flight: every job of the run has ended, and succeeded.
      assert.ok(mine.every((j) => j.state === 'succeeded'))
      // The sharded step's items went to the queue their input hashes to, over all 3 queues.
      const gz = mine.filter((j) => j.run!.step === 'gz')
      for (const job of gz) assert.equal(job.run!.shard, shardOf(job.input, 3), job.input)
      assert.deepEqual(new Set(gz.map((j) => j.run!.shard)), new Set([0, 1, 2]))
      assert.ok(mine.filter((j) => j.run!.step !== 'gz').every((j) => j.run!.shard === undefined))
      // The join holds every item exactly once, in item order, then the run's input.
      const bundle = await download(piper.url, 'out/bundle.tar')
      const listing = (await pipeThrough('tar', ['-t'], bundle)).stdout
        .toString()
        .trim()
        .split('\n')
      assert.deepEqual(listing, [...[...files.keys()].map((n) => `work/${n}.gz`), 'in/photos.tar'])
      for (const [name, bytes] of files) {
        const restored = await pipeThrough(
          'gzip',
          ['-dc'],
          await download(piper.url, `work/${name}.gz`),
        )
        assert.ok(restored.stdout.equals(bytes), name)
      }
    } finally {
      assert.equal(await piper.stop(), 0, piper.output())
    }
  })
})
