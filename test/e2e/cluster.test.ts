import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync } from 'node:zlib'
import { runPiper } from '../helpers/cli.ts'
import { download, putFile } from '../helpers/jobs-api.ts'
import { deleteNatsStreams, natsNamespace } from '../helpers/nats.ts'
import { runFinished, savePipeline, startRun } from '../helpers/pipelines-api.ts'
import { startRole } from '../helpers/piper-server.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { startQueueServer } from '../helpers/queue-server.ts'
import { NATS, POSTGRES, requireServer } from '../helpers/services.ts'
import { startStorageNodes } from '../helpers/storage-nodes.ts'

after(dropTestSchemas)

type Role = Awaited<ReturnType<typeof startRole>>

/** Waits (on the process's own log) until it has logged `message` `count` times. */
async function logged(p: Role, message: string, count = 1) {
  while (p.messages().filter((m) => m === message).length < count) {
    if (p.child.exitCode !== null) throw new Error(`exited: ${p.output()}`)
    await sleep(50)
  }
}

/** A queue every process of the cluster shares: `piper queue serve`, or NATS in a namespace of its own. */
const QUEUES = {
  'piper queue serve': (dir: string) => startQueueServer(dir),
  'NATS JetStream': async () => {
    const ns = natsNamespace('cluster')
    return {
      url: `nats://${NATS.host}:${NATS.port}?namespace=${ns}`,
      stop: () => deleteNatsStreams([`${ns}__`]),
    }
  },
}

for (const [label, startQueue] of Object.entries(QUEUES)) {
  it(`a cluster on PostgreSQL, ${label} and storage nodes: 2 gateways and 3 workers, one of each killed -9 mid-run; every run ends once and right, followed live on the survivor; the leader moves; /metrics shows the work`, async (t) => {
    if (!(await requireServer(t, POSTGRES))) return
    if (label.startsWith('NATS') && !(await requireServer(t, NATS))) return
    const dir = await mkdtemp(join(tmpdir(), 'piper-cluster-'))
    const queue = await startQueue(dir)
    const nodes = await startStorageNodes(3)
    const meta = freshPostgresUrl()
    const shared = [
      '--meta',
      meta,
      '--queue',
      queue.url,
      '--blobs',
      `nodes://${nodes.addresses.join(',')}?redundancy=replicas:2`,
      '--storage-repair-interval-ms',
      '500',
      '--chunk-size',
      '64K',
    ]
    const processes: Role[] = []
    try {
      // Gateway A first, so that it leads the storage repairs (a singleton) before B exists.
      const a = await startRole('gateway', shared)
      processes.push(a)
      await logged(a, 'storage repair pass done')
      const b = await startRole('gateway', shared)
      processes.push(b)
      // Together, as a deployment starts them (each tracked as it comes up, to be stopped after).
      const workers = await Promise.all(
        [0, 1, 2].map(async () => {
          const worker = await startRole('worker', shared)
          processes.push(worker)
          return worker
        }),
      )

      await savePipeline(a.url, {
        name: 'pack',
        steps: { gz: { kind: 'compress', use: [':input'] }, sum: { kind: 'hash', use: ['gz'] } },
      })
      const files = new Map<string, Buffer>()
      const runs: { id: string; input: string }[] = []
      for (let i = 0; i < 50; i++) {
        const via = i % 2 === 0 ? a : b
        const bytes = Buffer.concat([randomBytes(50_000), Buffer.from(`text ${i} `.repeat(20_000))])
        const name = `in/${i}.txt`
        await putFile(via.url, name, bytes)
        files.set(name, bytes)
        runs.push({
          id: (await startRun(via.url, { pipeline: 'pack', input: name })).id,
          input: name,
        })
      }
      // Mid-run: one gateway (the repairs' leader) and one worker die without a word.
      const repairsOnB = b.messages().filter((m) => m === 'storage repair pass done').length
      a.child.kill('SIGKILL')
      workers[0]!.child.kill('SIGKILL')
      await Promise.all([a.exited, workers[0]!.exited])

      // Every run, followed live on the surviving gateway, ends succeeded, once.
      for (const run of runs) {
        const last = await runFinished(b.url, run.id)
        assert.equal(last.state, 'succeeded', `${run.id}: ${JSON.stringify(last)}`)
        const [gz] = (last.steps as unknown as Record<string, { outputs: string[] }>).gz!.outputs
        const bytes = files.get(run.input)!
        assert.deepEqual(gunzipSync(await download(b.url, gz!)), bytes, run.input)
      }
      const listed = (await (await fetch(`${b.url}/v1/runs?limit=1000`)).json()) as {
        runs: unknown[]
      }
      assert.equal(listed.runs.length, 50, 'no run twice')
      // The leader moved: B runs the repairs now that A is gone.
      await logged(b, 'storage repair pass done', repairsOnB + 1)

      // /metrics on each survivor shows its work.
      const metrics = async (p: Role) => (await fetch(`${p.url}/metrics`)).text()
      assert.match(
        await metrics(b),
        /piper_http_request_duration_seconds_count\{method="GET",route="\/v1\/runs\/\*",status="200"\} [1-9]/,
      )
      let tasks = 0
      for (const w of workers.slice(1)) {
        const text = await metrics(w)
        for (const m of text.matchAll(
          /piper_worker_task_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} (\d+)/g,
        )) {
          tasks += Number(m[1])
        }
      }
      assert.ok(tasks >= 50, `the surviving workers ran ${tasks} tasks`)
      // The blob store's operations and bytes, by adapter: the workers read chunks and wrote outputs.
      const blobText = await metrics(workers[1]!)
      assert.match(
        blobText,
        /piper_blob_operation_duration_seconds_count\{adapter="nodes",operation="put",outcome="ok"\} [1-9]/,
      )
      assert.match(blobText, /piper_blob_bytes_total\{adapter="nodes",direction="out"\} [1-9]/)
      // And what each asked of PostgreSQL: statements (round trips) and commits.
      assert.match(blobText, /piper_meta_statements_total [1-9]/)
      assert.match(blobText, /piper_meta_commits_total [1-9]/)
      // Jobs are counted by the process that ended them (the killed worker took its count along).
      let ended = 0
      for (const w of workers.slice(1)) {
        const m = /piper_jobs_ended_total\{kind="compress",state="succeeded"\} (\d+)/.exec(
          await metrics(w),
        )
        ended += Number(m?.[1] ?? 0)
      }
      assert.ok(ended >= 1 && ended <= 50, `${ended} compress jobs ended on the survivors`)
      assert.match(
        await metrics(b),
        /piper_queue_lag_messages\{topic="runs\.advance",group="run-engine"\} \d+/,
      )
    } finally {
      await Promise.all(processes.map((p) => (p.child.exitCode === null ? p.stop() : undefined)))
      await nodes.stop()
      await queue.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
}

it('piper gateway and piper worker refuse stores only one process can use', async () => {
  const run = await runPiper(['worker', '--data', join(tmpdir(), 'nowhere')])
  assert.equal(run.code, 2)
  assert.match(run.stderr, /PIPER_META is sqlite:.*must be postgres/)
  assert.match(run.stderr, /PIPER_QUEUE is embedded:.*must be piper:\/\//)
  assert.match(run.stderr, /run piper up/)
})
