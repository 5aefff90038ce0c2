import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { savePipeline } from '../helpers/pipelines-api.ts'
import { startPiper } from '../helpers/piper-server.ts'

it('/v1/schedules and piper schedules: create, list, show, pause, resume, delete; bad ones are 400 naming the field', async () => {
  const piper = await startPiper()
  const post = (path: string, body?: unknown) =>
    fetch(`${piper.url}${path}`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const cli = async (...args: string[]) => {
    const run = await runPiper(['schedules', ...args], { env: cleanEnv({ PIPER_URL: piper.url }) })
    return run
  }
  try {
    await savePipeline(piper.url, { name: 'sums', steps: { h: { kind: 'hash', use: [':input'] } } })
    const created = await post('/v1/schedules', {
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      pipeline: 'sums',
      prefix: 'logs/',
      missed: { catch_up: 1 },
      overlap: 'queue',
    })
    assert.equal(created.status, 201, await created.clone().text())
    const body = (await created.json()) as Record<string, unknown>
    assert.equal(body.timezone, 'Europe/Paris')
    assert.deepEqual(body.missed, { catch_up: 1 })
    assert.match(String(body.next_tick), /T0[12]:00:00\.000Z$/, '03:00 in Paris')

    for (const [bad, field] of [
      [{ cron: '61 * * * *' }, 'cron'],
      [{ timezone: 'Mars/Base' }, 'timezone'],
      [{ overlap: 'sometimes' }, 'overlap'],
      [{ missed: { catch_up: 0 } }, 'missed'],
      [{ extra: 1 }, 'extra'],
    ] as const) {
      const res = await post('/v1/schedules', {
        name: 'x',
        cron: '* * * * *',
        pipeline: 'sums',
        input: 'a',
        ...bad,
      })
      assert.equal(res.status, 400)
      const error = ((await res.json()) as { error: { code: string; message: string } }).error
      assert.equal(error.code, 'E_SCHEDULE_INVALID')
      assert.match(error.message, new RegExp(field))
    }
    const unknown = await post('/v1/schedules', {
      name: 'y',
      cron: '* * * * *',
      pipeline: 'nope',
      input: 'a',
    })
    assert.equal(unknown.status, 404)

    const file = join(piper.data, 'hourly.yaml')
    await writeFile(file, 'name: hourly\ncron: "0 * * * *"\npipeline: sums\ninput: a.txt\n')
    assert.equal((await cli('apply', file)).code, 0)
    const listed = await cli()
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^hourly {2}0 \* \* \* \* \(UTC\) {2}sums {2}next 20\d\d-/m)
    assert.match(listed.stdout, /^nightly {2}0 3 \* \* \* \(Europe\/Paris\)/m)

    const paused = await cli('pause', 'nightly')
    assert.equal((JSON.parse(paused.stdout) as { paused: boolean }).paused, true)
    assert.match((await cli('ls')).stdout, /nightly .* paused$/m)
    const resumed = (await (await post('/v1/schedules/nightly/resume')).json()) as {
      paused: boolean
    }
    assert.equal(resumed.paused, false)
    const shown = JSON.parse((await cli('show', 'nightly')).stdout) as { ticks: unknown[] }
    assert.deepEqual(shown.ticks, [])

    assert.equal((await cli('rm', 'nightly')).code, 0)
    assert.equal((await fetch(`${piper.url}/v1/schedules/nightly`)).status, 404)
    const gone = await cli('rm', 'nightly')
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /E_SCHEDULE_NOT_FOUND|no schedule/)
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
