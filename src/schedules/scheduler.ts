import { Cron } from 'croner'
import type { FileService } from '../files/index.ts'
import { MAX_JOB_INPUTS } from '../jobs/index.ts'
import type {
  RunStore,
  ScheduleRecord,
  ScheduleStore,
  ScheduleTicks,
  TickRecord,
} from '../meta/index.ts'
import type { RunService } from '../pipelines/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { ScheduleError } from './errors.ts'
import { nextTickAfter, type ScheduleDefinition } from './schedule-definition.ts'

/**
 * Maintenance on the schedules' mechanism (garbage collection, the scrub, backups): at each tick
 * of `cron` (UTC), `run` is called on one process of the cluster. Ticks missed while no process
 * was up collapse into one run when the next pass finds them; `run` should come back soon (start
 * the work, not wait for it) and ignore a call while its work is under way.
 */
export interface MaintenanceTask {
  name: string
  cron: string
  run: () => Promise<unknown>
}

/** The client maintenance schedules belong to: no API client can be named so. */
export const SYSTEM_CLIENT = '_piper'

export interface SchedulerOptions {
  store: ScheduleTicks &
    Pick<ScheduleStore, 'getSchedule' | 'putSchedule'> &
    Pick<RunStore, 'getRun'>
  runs: Pick<RunService, 'create'>
  files: Pick<FileService, 'list'>
  logger: Logger
  /** The clock (ms since the epoch): tests drive it; by default, `Date.now`. */
  now?: () => number
  /** Time between passes over the due schedules (default 5 s). */
  intervalMs?: number
  /**
   * A tick found due later than this after its time was missed (no process was up): it follows
   * the schedule's `missed` policy instead of starting a run (default 60 s).
   */
  graceMs?: number
  /** A claimed tick whose run has not started after this long: its process died (default 60 s). */
  claimTimeoutMs?: number
  tasks?: readonly MaintenanceTask[]
}

/** What one pass did, for the log and the tests. */
export interface PassSummary {
  started: number
  skipped: number
  waiting: number
  failed: number
  missed: number
}

/** Ticks looked at per schedule per pass at most: a schedule down for months does not spin. */
const MAX_TICKS_PER_PASS = 10_000

/**
 * Starts the runs of schedules as their ticks come. Every process runs one; each tick is handled
 * by exactly one of them (the first to insert its row into `schedule_ticks`), and its run is
 * created with the idempotency key `schedule:NAME:TICK`, so even a tick re-handled after a crash
 * starts one run. Time comes from `now`, so tests move it instead of waiting.
 */
export class Scheduler {
  readonly name = 'scheduler'
  readonly #o: Required<Omit<SchedulerOptions, 'store' | 'runs' | 'files' | 'logger' | 'tasks'>> &
    SchedulerOptions
  readonly #tasks: Map<string, MaintenanceTask>
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(options: SchedulerOptions) {
    this.#o = {
      ...options,
      now: options.now ?? Date.now,
      intervalMs: options.intervalMs ?? 5_000,
      graceMs: options.graceMs ?? 60_000,
      claimTimeoutMs: options.claimTimeoutMs ?? 60_000,
    }
    this.#log = options.logger.child({ component: 'scheduler' })
    this.#tasks = new Map((options.tasks ?? []).map((t) => [t.name, t]))
  }

  async start(): Promise<void> {
    await this.#registerTasks()
    this.#timer = setInterval(() => {
      this.#running = this.#running
        .then(() => this.pass())
        .catch((error: unknown) => {
          this.#log.warn({ err: error }, 'a scheduler pass failed; the next one retries')
        })
    }, this.#o.intervalMs)
    this.#timer.unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#running
  }

  /** One pass: the due schedules' ticks, then ticks waiting for a run to end or left claimed. */
  async pass(): Promise<PassSummary> {
    const summary: PassSummary = { started: 0, skipped: 0, waiting: 0, failed: 0, missed: 0 }
    const now = this.#o.now()
    for (const schedule of await this.#o.store.dueSchedules(now, 100)) {
      if (this.#closed) break
      await this.#due(schedule, now, summary)
    }
    for (const tick of await this.#o.store.openTicks(now - this.#o.claimTimeoutMs, 100)) {
      if (this.#closed) break
      await this.#reopen(tick, summary)
    }
    return summary
  }

  /** Each maintenance task's schedule, made or changed when its cron is not the stored one. */
  async #registerTasks(): Promise<void> {
    const now = this.#o.now()
    for (const task of this.#tasks.values()) {
      const definition = { task: task.name, cron: task.cron, timezone: 'UTC' }
      const stored = await this.#o.store.getSchedule(SYSTEM_CLIENT, task.name)
      if (stored && !stored.paused && stored.definition.cron === task.cron) continue
      await this.#o.store.putSchedule(
        {
          clientId: SYSTEM_CLIENT,
          name: task.name,
          definition,
          paused: false,
          nextTick: nextTickAfter(definition, now) ?? Number.MAX_SAFE_INTEGER,
        },
        now,
      )
    }
  }

  async #due(s: ScheduleRecord, now: number, summary: PassSummary): Promise<void> {
    const d = s.definition as unknown as ScheduleDefinition & { task?: string }
    const cron = new Cron(d.cron, { timezone: d.timezone, paused: true })
    const due: number[] = []
    let tick: number | undefined = s.nextTick
    while (tick !== undefined && tick <= now && due.length < MAX_TICKS_PER_PASS) {
      due.push(tick)
      tick = cron.nextRun(new Date(tick))?.getTime()
    }
    const next = tick ?? Number.MAX_SAFE_INTEGER
    // Another process handled this pass's ticks first: leave them to it.
    if (!(await this.#o.store.advanceSchedule(s.clientId, s.name, s.nextTick, next))) return
    if (d.task !== undefined) return this.#runTask(s, d.task, due[due.length - 1]!, now, summary)
    const onTime = due.filter((t) => now - t <= this.#o.graceMs)
    const missed = due.filter((t) => now - t > this.#o.graceMs)
    const caughtUp = d.missed === 'skip' ? [] : missed.slice(-d.missed.catchUp)
    if (missed.length > caughtUp.length) {
      summary.missed += missed.length - caughtUp.length
      this.#log.warn(
        {
          schedule: s.name,
          client: s.clientId,
          missed: missed.length - caughtUp.length,
          from: missed[0],
        },
        'schedule ticks were missed while no process was up',
      )
    }
    for (const t of [...caughtUp, ...onTime]) await this.#handle(s, d, t, now, summary)
  }

  /** A maintenance task's newest due tick: claimed, then its work started (not awaited). */
  async #runTask(
    s: ScheduleRecord,
    name: string,
    tick: number,
    now: number,
    summary: PassSummary,
  ): Promise<void> {
    const task = this.#tasks.get(name)
    // A task this process was not configured with: the processes that were run it.
    if (!task || !(await this.#o.store.claimTick(s.clientId, s.name, tick, now))) return
    await this.#o.store.settleTick(s.clientId, s.name, tick, { state: 'started' })
    summary.started++
    task.run().catch((error: unknown) => {
      this.#log.warn({ err: error, task: name }, 'a scheduled maintenance task failed')
    })
  }

  /** Claims tick `t` and starts its run, unless its overlap policy says otherwise. */
  async #handle(
    s: ScheduleRecord,
    d: ScheduleDefinition,
    t: number,
    now: number,
    summary: PassSummary,
  ): Promise<void> {
    if (!(await this.#o.store.claimTick(s.clientId, s.name, t, now))) return
    await this.#start(s.clientId, s.name, d, t, summary)
  }

  async #start(
    clientId: string,
    name: string,
    d: ScheduleDefinition,
    t: number,
    summary: PassSummary,
  ): Promise<void> {
    const settle = (outcome: Parameters<ScheduleTicks['settleTick']>[3]) =>
      this.#o.store.settleTick(clientId, name, t, outcome)
    if (d.overlap !== 'allow' && (await this.#busy(clientId, name, t))) {
      await settle({ state: d.overlap === 'queue' ? 'waiting' : 'skipped' })
      summary[d.overlap === 'queue' ? 'waiting' : 'skipped']++
      return
    }
    try {
      const inputs = d.inputs ?? (await this.#filesUnder(clientId, d.prefix ?? ''))
      if (inputs.length === 0) {
        await settle({ state: 'skipped', error: `no files under "${d.prefix}"` })
        summary.skipped++
        return
      }
      const { run } = await this.#o.runs.create(
        clientId,
        { pipeline: d.pipeline, version: d.version, inputs },
        `schedule:${name}:${t}`,
      )
      await settle({ state: 'started', runId: run.id })
      summary.started++
      this.#log.info(
        { schedule: name, client: clientId, tick: t, run: run.id },
        'scheduled run started',
      )
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code !== 'string' || !code.startsWith('E_')) throw error
      // The pipeline or a file is gone, a quota is reached: this tick fails, the next may not.
      await settle({ state: 'failed', error: `${code}: ${(error as Error).message}` })
      summary.failed++
      this.#log.warn(
        { schedule: name, client: clientId, tick: t, err: error },
        'scheduled run not started',
      )
    }
  }

  /** A tick waiting for the previous run to end, or claimed by a process that died. */
  async #reopen(tick: TickRecord, summary: PassSummary): Promise<void> {
    const s = await this.#o.store.getSchedule(tick.clientId, tick.name)
    if (!s) return
    if ('task' in s.definition) {
      // Maintenance is not replayed: its next tick runs it.
      await this.#o.store.settleTick(tick.clientId, tick.name, tick.tick, { state: 'skipped' })
      return
    }
    const d = s.definition as unknown as ScheduleDefinition
    if (tick.state === 'waiting') {
      if (await this.#busy(tick.clientId, tick.name, tick.tick)) return
      await this.#start(tick.clientId, tick.name, { ...d, overlap: 'allow' }, tick.tick, summary)
      return
    }
    await this.#start(tick.clientId, tick.name, d, tick.tick, summary)
  }

  /** Whether a run an earlier tick of the schedule started is still queued or running. */
  async #busy(clientId: string, name: string, before: number): Promise<boolean> {
    const ticks = await this.#o.store.recentTicks(clientId, name, 20)
    for (const t of ticks) {
      if (t.tick >= before) continue
      if (t.state === 'waiting' || t.state === 'claimed') return true
      if (t.state !== 'started' || !t.runId) continue
      const run = await this.#o.store.getRun(clientId, t.runId)
      return run !== undefined && (run.state === 'queued' || run.state === 'running')
    }
    return false
  }

  async #filesUnder(clientId: string, prefix: string): Promise<string[]> {
    const names: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await this.#o.files.list(clientId, { prefix, after, limit: 1000 })
      names.push(...page.map((f) => f.name))
      if (page.length < 1000 || names.length > MAX_JOB_INPUTS) break
      after = page[page.length - 1]!.name
    }
    if (names.length > MAX_JOB_INPUTS) {
      throw new ScheduleError(
        'E_SCHEDULE_INVALID',
        `more than ${MAX_JOB_INPUTS} files under "${prefix}"; narrow the prefix`,
      )
    }
    return names
  }
}
