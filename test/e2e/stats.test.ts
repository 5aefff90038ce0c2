import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startPiper } from '../helpers/piper-server.ts'

interface Totals {
  uploads: number
  bytes_in: number
  bytes_deduplicated: number
  images: Record<string, number>
  image_sizes: Record<string, number>
  downloads: number
  bytes_out: number
  deletes: number
  jobs_ended: number
  jobs: Record<string, Record<string, number>>
  compression: Record<string, { ratio: number; bytes_out: number }>
  latency_ms: Record<string, { count: number; p50: number; p99: number }>
  stored?: { bytes: number; files: number }
}

/** Reads /v1/stats until `ready` says the statistics have caught up with what was done. */
async function statsWhen(
  url: string,
  ready: (t: Totals) => boolean,
  path = '/v1/stats?bucket=minute',
): Promise<Totals> {
  for (;;) {
    const res = await fetch(`${url}${path}`)
    assert.equal(res.status, 200, await res.clone().text())
    const body = (await res.json()) as {
      totals: Totals
      behind: number
      stored: { bytes: number; files: number }
    }
    if (body.behind === 0 && ready(body.totals)) return { ...body.totals, stored: body.stored }
    await sleep(100)
  }
}

async function waitJob(url: string, id: string): Promise<void> {
  for (;;) {
    const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { state: string }
    if (job.state === 'succeeded') return
    assert.ok(job.state !== 'failed', JSON.stringify(job))
    await sleep(50)
  }
}

it('usage statistics: kept from the event history, exact after kill -9 and restart, and rebuilt the same from it', async () => {
  let piper = await startPiper()
  const text = 'statistics are counted once\n'.repeat(4000)
  try {
    for (let i = 0; i < 5; i++) {
      await fetch(`${piper.url}/v1/files/s/${i}.txt`, { method: 'PUT', body: text })
    }
    // An image sent without a type: its bytes say it is a PNG.
    const png = await readFile(new URL('../fixtures/images/coins.png', import.meta.url))
    const image = await fetch(`${piper.url}/v1/files/s/coins`, { method: 'PUT', body: png })
    assert.equal(((await image.json()) as { content_type: string }).content_type, 'image/png')
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${piper.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'compress', input: `s/${i}.txt` }),
      })
      await waitJob(piper.url, ((await res.json()) as { id: string }).id)
    }
    await fetch(`${piper.url}/v1/files/s/4.txt`, { method: 'DELETE' })
    // Two whole downloads and one range; a HEAD is not a download.
    for (const headers of [{}, {}, { range: 'bytes=0-99' }]) {
      const res = await fetch(`${piper.url}/v1/files/s/0.txt`, { headers })
      await res.arrayBuffer()
    }
    await fetch(`${piper.url}/v1/files/s/0.txt`, { method: 'HEAD' })
    // 6 uploads and 3 job outputs; one delete; three compress jobs ended.
    const first = await statsWhen(
      piper.url,
      (t) => t.uploads === 9 && t.deletes === 1 && t.jobs_ended === 3 && t.downloads === 3,
    )
    assert.ok(first.bytes_in > 5 * text.length, 'the uploads and the jobs outputs')
    // The same text five times, compressed three times: stored once each (one chunk apiece).
    const gz = first.compression.compress!
    const outputSize = gz.bytes_out / 3
    assert.equal(first.bytes_deduplicated, 4 * text.length + 2 * outputSize)
    assert.deepEqual(first.stored, {
      bytes: 4 * text.length + png.length + 3 * outputSize,
      files: 8,
    })
    assert.deepEqual(first.images, { png: 1 })
    assert.deepEqual(first.image_sizes, {
      [png.length < 100_000 ? 'under_100kb' : '100kb_to_1mb']: 1,
    })
    assert.equal(first.downloads, 3)
    assert.equal(first.bytes_out, 2 * text.length + 100)
    assert.equal(first.jobs.compress?.succeeded, 3)
    assert.equal(first.jobs.compress?.queued, 3)
    assert.equal(first.latency_ms.compress?.count, 3)
    assert.ok(first.latency_ms.compress!.p50 > 0)
    assert.ok(first.compression.compress!.ratio > 0 && first.compression.compress!.ratio < 1)

    // More work, then a kill -9 while the statistics may be mid-batch.
    for (let i = 5; i < 25; i++) {
      await fetch(`${piper.url}/v1/files/s/${i}.txt`, { method: 'PUT', body: text })
    }
    piper.child.kill('SIGKILL')
    await piper.exited
    piper = await startPiper([], {}, piper.data)
    // Caught up with the whole history: nothing lost, nothing counted twice.
    const settled = await statsWhen(piper.url, () => true)
    assert.equal(settled.uploads, 29)
    assert.equal(settled.bytes_deduplicated, first.bytes_deduplicated + 20 * text.length)
    assert.deepEqual(settled.stored, { bytes: first.stored!.bytes + 20 * text.length, files: 28 })
    assert.equal(settled.jobs_ended, 3)

    // Recomputed from the event history: the same figures.
    const rebuild = await fetch(`${piper.url}/v1/admin/stats/rebuild`, { method: 'POST' })
    assert.equal(rebuild.status, 202)
    const rebuilt = await statsWhen(piper.url, (t) => t.uploads === 29 && t.jobs_ended === 3)
    assert.deepEqual({ ...rebuilt, latency_ms: undefined }, { ...settled, latency_ms: undefined })
    assert.equal(rebuilt.latency_ms.compress?.count, 3)
    // Every client's, for administrators, in hours and days alike.
    const all = await statsWhen(piper.url, (t) => t.uploads === 29, '/v1/admin/stats?bucket=day')
    assert.equal(all.deletes, 1)
    // The same from the command line.
    const cli = await runPiper(['stats', '--bucket', 'day'], {
      env: cleanEnv({ PIPER_URL: piper.url }),
    })
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /^total\s+29\s/m)
    assert.match(cli.stdout, /^compress: 3 jobs, p50 \d+ ms/m)
    assert.match(
      cli.stdout,
      /^stored now: 28 files, [\d.]+ [KMG]?i?B; deduplication saved [\d.]+ [KMG]?i?B in the span$/m,
    )
    assert.match(cli.stdout, /^images: png 1 \(/m)
    const bad = await fetch(`${piper.url}/v1/stats?bucket=week`)
    assert.equal(bad.status, 400)
    const tooMany = await fetch(`${piper.url}/v1/stats?bucket=minute&from=2020-01-01T00:00:00Z`)
    assert.equal(tooMany.status, 400)
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
