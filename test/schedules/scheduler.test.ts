import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import fc from 'fast-check'
import { parseSchedule, Scheduler } from '../../src/schedules/index.ts'
import { type StartedJobSystem, silent, startJobSystem } from '../helpers/job-system.ts'

// Time is this variable: the tests move it; nothing waits for a minute to turn.
let clock = Date.UTC(2026, 11, 1, 12, 0)
const now = () => clock
const at = (iso: string) => {
  clock = Date.parse(iso)
}

const systems: StartedJobSystem[] = []
after(() => Promise.all(systems.map((s) => s.close())))

/** A job system without workers: the runs schedules start stay queued until cancelled. */
async function setup() {
  const system = await startJobSystem({ now })
  systems.push(system)
  await system.pipelines.save('ann', {
    name: 'sums',
    steps: { h: { kind: 'hash', use: [':input'] } },
  })
  async function* bytes(text: string) {
    yield Buffer.from(text)
  }
  for (const name of ['a.txt', 'in/1.txt', 'in/2.txt'])
    await system.files.put('ann', name, bytes(name))
  const scheduler = (graceMs?: number) =>
    new Scheduler({
      store: system.meta,
      runs: system.runs,
      files: system.files,
      logger: silent,
      now,
      graceMs,
    })
  const schedule = (body: Record<string, unknown>) =>
    system.schedules.put('ann', { pipeline: 'sums', input: 'a.txt', ...body })
  const ticks = async (name: string) => (await system.schedules.get('ann', name)).ticks ?? []
  return { system, scheduler, schedule, ticks }
}

it('a tick starts one run however many processes see it due; in its time zone; once', async () => {
  const { system, scheduler, schedule, ticks } = await setup()
  at('2026-12-01T12:00:00Z')
  const saved = await schedule({ name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Paris' })
  assert.equal(saved.next_tick, '2026-12-02T02:00:00.000Z', '03:00 in Paris is 02:00 UTC in winter')
  const processes = [scheduler(), scheduler(), scheduler()]
  at('2026-12-02T01:59:59Z')
  assert.equal((await processes[0]!.pass()).started, 0)
  at('2026-12-02T02:00:04Z')
  const passes = await Promise.all(processes.map((p) => p.pass()))
  assert.equal(
    passes.reduce((n, p) => n + p.started, 0),
    1,
    'exactly one run',
  )
  assert.equal(
    (await Promise.all(processes.map((p) => p.pass()))).reduce((n, p) => n + p.started, 0),
    0,
  )
  const [tick] = await ticks('nightly')
  assert.equal(tick?.state, 'started')
  const run = await system.runs.get('ann', tick!.run!)
  assert.deepEqual(run.run.inputs, ['a.txt'])
  assert.equal((await system.schedules.get('ann', 'nightly')).next_tick, '2026-12-03T02:00:00.000Z')
})

it('ticks missed while nothing ran: skip starts none, catch_up N starts the newest N', async () => {
  const { scheduler, schedule, ticks, system } = await setup()
  at('2026-12-01T12:00:00Z')
  await schedule({ name: 'skipper', cron: '0 * * * *', overlap: 'allow' })
  await schedule({ name: 'catcher', cron: '0 * * * *', overlap: 'allow', missed: { catch_up: 2 } })
  at('2026-12-01T17:30:00Z') // 13:00 … 17:00 passed: five ticks, all late
  const pass = await scheduler().pass()
  assert.deepEqual([pass.started, pass.missed], [2, 5 + 3])
  assert.deepEqual(
    (await ticks('catcher')).map((t) => [t.tick, t.state]),
    [
      ['2026-12-01T17:00:00.000Z', 'started'],
      ['2026-12-01T16:00:00.000Z', 'started'],
    ],
  )
  assert.deepEqual(await ticks('skipper'), [])
  at('2026-12-01T18:00:10Z') // on time again
  assert.equal((await scheduler().pass()).started, 2)
  const runs = await system.runs.list('ann', { limit: 100 })
  assert.equal(runs.length, 4)
})

it('overlap: skip drops a tick while the last run goes on, queue holds it until that run ends, allow runs both', async () => {
  const { scheduler, schedule, ticks, system } = await setup()
  at('2026-12-01T12:00:00Z')
  for (const overlap of ['skip', 'queue', 'allow']) {
    await schedule({ name: overlap, cron: '* * * * *', overlap })
  }
  const s = scheduler()
  for (const minute of ['12:01', '12:02', '12:03']) {
    at(`2026-12-01T${minute}:05Z`)
    await s.pass()
  }
  const states = async (name: string) => (await ticks(name)).map((t) => t.state).reverse()
  assert.deepEqual(await states('skip'), ['started', 'skipped', 'skipped'])
  assert.deepEqual(await states('queue'), ['started', 'waiting', 'waiting'])
  assert.deepEqual(await states('allow'), ['started', 'started', 'started'])
  // The queued schedule's first run ends: its next waiting tick starts, the one after still waits.
  const first = (await ticks('queue')).at(-1)!
  await system.runs.cancel('ann', first.run!)
  await s.pass()
  assert.deepEqual(await states('queue'), ['started', 'started', 'waiting'])
})

it('a tick claimed by a process that died is started by another, once, even if its run was created', async () => {
  const { scheduler, schedule, ticks, system } = await setup()
  at('2026-12-01T12:00:00Z')
  await schedule({ name: 'crashy', cron: '0 13 * * *' })
  const tick = Date.parse('2026-12-01T13:00:00Z')
  at('2026-12-01T13:00:01Z')
  // The dead process: it claimed the tick, created the run, and died before recording it.
  assert.equal(await system.meta.claimTick('ann', 'crashy', tick, now()), true)
  await system.meta.advanceSchedule('ann', 'crashy', tick, tick + 86_400_000)
  const { run } = await system.runs.create(
    'ann',
    { pipeline: 'sums', inputs: ['a.txt'] },
    `schedule:crashy:${tick}`,
  )
  assert.equal((await scheduler().pass()).started, 0, 'its claim is fresh: it may still be working')
  at('2026-12-01T13:02:00Z')
  assert.equal((await scheduler().pass()).started, 1)
  const [recorded] = await ticks('crashy')
  assert.deepEqual([recorded?.state, recorded?.run], ['started', run.id])
  assert.equal((await system.runs.list('ann', { limit: 10 })).length, 1)
})

it('prefix inputs, a deleted pipeline, pause and resume', async () => {
  const { scheduler, schedule, ticks, system } = await setup()
  at('2026-12-01T12:00:00Z')
  const body = { cron: '0 * * * *' }
  await system.schedules.put('ann', { ...body, name: 'dir', pipeline: 'sums', prefix: 'in/' })
  await system.schedules.put('ann', { ...body, name: 'empty', pipeline: 'sums', prefix: 'none/' })
  await schedule({ ...body, name: 'paused' })
  await system.schedules.pause('ann', 'paused', true)
  at('2026-12-01T13:00:01Z')
  await scheduler().pass()
  const [dir] = await ticks('dir')
  assert.deepEqual((await system.runs.get('ann', dir!.run!)).run.inputs, ['in/1.txt', 'in/2.txt'])
  assert.match((await ticks('empty'))[0]?.error ?? '', /no files under "none\/"/)
  assert.deepEqual(await ticks('paused'), [])
  const resumed = await system.schedules.pause('ann', 'paused', false)
  assert.equal(resumed.next_tick, '2026-12-01T14:00:00.000Z', 'from the next tick: none replayed')
  await system.pipelines.delete('ann', 'sums')
  at('2026-12-01T14:00:01Z')
  await scheduler().pass()
  assert.match((await ticks('paused'))[0]?.error ?? '', /E_PIPELINE_NOT_FOUND/)
  assert.equal((await ticks('paused'))[0]?.state, 'failed')
})

it('parseSchedule: any body is a schedule or E_SCHEDULE_INVALID naming the field, never another error', () => {
  const field = fc.oneof(
    fc.jsonValue(),
    fc.constantFrom('0 3 * * *', '61 * * * *', 'Europe/Paris', 'Mars/Base', 'skip', 'queue'),
  )
  const body = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        name: fc.oneof(fc.constant('n'), fc.jsonValue()),
        cron: field,
        timezone: field,
        pipeline: fc.oneof(fc.constant('p'), fc.jsonValue()),
        input: field,
        prefix: field,
        missed: fc.oneof(field, fc.record({ catch_up: fc.jsonValue() })),
        overlap: field,
      },
      { requiredKeys: [] },
    ),
  )
  fc.assert(
    fc.property(body, (b) => {
      try {
        const { definition } = parseSchedule(b)
        assert.equal(typeof definition.cron, 'string')
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'E_SCHEDULE_INVALID', String(error))
      }
    }),
    { numRuns: 500 },
  )
  assert.throws(
    () => parseSchedule({ name: 'x', cron: '0 0 30 2 *', pipeline: 'p', input: 'a' }),
    /never ticks/,
  )
  assert.throws(
    () =>
      parseSchedule({
        name: 'x',
        cron: '* * * * *',
        pipeline: 'p',
        input: 'a',
        timezone: 'Mars/Base',
      }),
    /^ScheduleError: timezone must be an IANA time zone/,
  )
  assert.throws(
    () => parseSchedule({ name: 'x', cron: '* * * * *', pipeline: 'p', missed: { catch_up: 0 } }),
    /^ScheduleError: missed must be "skip" or \{"catch_up": N\}/,
  )
  assert.throws(
    () => parseSchedule({ name: 'x', cron: '* * * * *', pipeline: 'p', when: 1 }),
    /^ScheduleError: the body has an unknown field "when"/,
  )
})

it('maintenance tasks: each tick runs on one process; ticks missed while down collapse into one run; a process without the task lets it pass', async () => {
  const { system } = await setup()
  at('2026-12-01T12:00:00Z')
  const ran: string[] = []
  const member = (who: string, withTask = true) =>
    new Scheduler({
      store: system.meta,
      runs: system.runs,
      files: system.files,
      logger: silent,
      now,
      intervalMs: 3_600_000,
      tasks: withTask
        ? [{ name: 'gc', cron: '*/10 * * * *', run: async () => void ran.push(who) }]
        : [],
    })
  const [a, b] = [member('a'), member('b')]
  await a.start()
  await b.start() // registering twice is once
  try {
    at('2026-12-01T12:10:01Z')
    await Promise.all([a.pass(), b.pass()])
    assert.equal(ran.length, 1, 'one of them ran the tick')
    at('2026-12-01T15:00:30Z') // 17 ticks passed while "down": one run
    await Promise.all([a.pass(), b.pass()])
    assert.equal(ran.length, 2)
    // A process configured without the task advances past its ticks without running them.
    at('2026-12-01T15:10:01Z')
    await member('c', false).pass()
    await a.pass()
    assert.equal(ran.length, 2)
    const listed = await system.meta.listSchedules('_piper')
    assert.deepEqual(
      listed.map((s) => [s.name, s.nextTick]),
      [['gc', Date.parse('2026-12-01T15:20:00Z')]],
    )
    assert.deepEqual(
      await system.schedules.list('ann'),
      [],
      "the system's schedules are not a client's",
    )
  } finally {
    await a.close()
    await b.close()
  }
})
