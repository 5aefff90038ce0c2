import { Command } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
import type { CodecFlags } from './commands/codec.ts'
import type { ConsumeFlags, PublishFlags } from './commands/queue.ts'
import { addConfigOptions, flagValues } from './config-options.ts'
import { usageError } from './errors.ts'

/** `--json` of a listing: the API's objects, one per line (JSON Lines), for scripts. */
const JSON_LINES = 'one JSON object per line, as the API gives it'

// Each command's module loads when the command runs, with what it needs: `piper compress` does
// not load the gateway, the queue or their libraries, and `piper --version` loads none.
const load = {
  backup: () => import('./commands/backup.ts'),
  codec: () => import('./commands/codec.ts'),
  config: () => import('./commands/config.ts'),
  dlq: () => import('./commands/dlq.ts'),
  files: () => import('./commands/files.ts'),
  jobs: () => import('./commands/jobs.ts'),
  keys: () => import('./commands/keys.ts'),
  pipelines: () => import('./commands/pipelines.ts'),
  roles: () => import('./commands/roles.ts'),
  schedules: () => import('./commands/schedules.ts'),
  queue: () => import('./commands/queue.ts'),
  storage: () => import('./commands/storage.ts'),
  up: () => import('./commands/up.ts'),
  usage: () => import('./commands/usage.ts'),
}

export interface ProgramIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** The `piper` command tree. Parsing errors throw `CommanderError` (see `main.ts`). */
export function buildProgram(io: ProgramIo): Command {
  const program = new Command('piper')
    .description(
      'Piper stores files in content-addressed chunks and processes them through a durable queue.',
    )
    .version(pkg.version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run 'piper --help' for the list of commands and options)")
    .allowExcessArguments(false)

  addConfigOptions(
    program
      .command('up')
      .description('run gateway, queue, storage and workers in one process (data in one folder)'),
  ).action(async (options: Record<string, unknown>) => {
    await (await load.up()).upCommand(flagValues(options))
  })

  for (const [role, what] of [
    [
      'gateway',
      'the HTTP API, schedules and maintenance, as one of a cluster (PostgreSQL, a shared queue and blob store)',
    ],
    [
      'worker',
      'the tasks of the job kinds in --kinds (default all), as one of a cluster (shared stores, as gateway)',
    ],
  ] as const) {
    addConfigOptions(program.command(role).description(what)).action(
      async (options: Record<string, unknown>) => {
        await (await load.roles()).roleCommand(role, flagValues(options))
      },
    )
  }

  addConfigOptions(
    program
      .command('config')
      .description('print the effective configuration as JSON (secrets masked)'),
  ).action(async (options: Record<string, unknown>) => {
    const { configCommand } = await load.config()
    configCommand(flagValues(options), io.stdout)
  })

  codecCommand(
    program,
    'compress',
    'compress FILE to FILE.gz (standard gzip, chunks in parallel); - or no FILE: stdin to stdout',
    'overwrite the output; write to a terminal',
  )
    .option('--chunk-size <size>', 'bytes per gzip member, e.g. 1M (default 1M)')
    .action(async (file: string | undefined, options: CodecFlags) => {
      await (await load.codec()).compressCommand(file, options)
    })

  codecCommand(
    program,
    'decompress',
    'decompress FILE.gz to FILE (any gzip); - or no FILE: stdin to stdout',
    'overwrite the output',
  )
    .option('--max-output <size>', 'refuse to write more than this, e.g. 10G (default: no limit)')
    .action(async (file: string | undefined, options: CodecFlags) => {
      await (await load.codec()).decompressCommand(file, options)
    })

  fileCommands(program, io)
  jobCommands(program, io)
  pipelineCommands(program, io)
  keysCommands(program, io)
  queueCommands(program, io)
  storageCommands(program, io)
  backupCommands(program, io)
  scheduleCommands(program, io)
  usageCommands(program, io)
  return program
}

type Options = Record<string, unknown>

/** put, get, ls, rm: clients of the gateway at PIPER_URL with PIPER_KEY. */
function fileCommands(program: Command, io: ProgramIo): void {
  addConfigOptions(
    program
      .command('put')
      .description('upload FILE (or - for stdin) as NAME (default: its base name); prints the file')
      .argument('<file>', 'file to upload, or - for stdin')
      .argument('[name]', 'name to store it under')
      .option('--compress', 'then compress it to NAME.gz (a job; its id is in the output)')
      .option('--decompress', 'then decompress it (a job; its id is in the output)')
      .option('--then <kind>', 'then run a job of this kind on it (see piper kinds)')
      .option('--pipeline <name>', 'then run this pipeline on it (its run is in the output)'),
  ).action(async (file: string, name: string | undefined, options: Options) => {
    const chosen = [
      options.compress && 'compress',
      options.decompress && 'decompress',
      options.then as string | undefined,
    ].filter((x): x is string => typeof x === 'string')
    if (chosen.length + (options.pipeline ? 1 : 0) > 1) {
      throw usageError('choose one of --compress, --decompress, --then and --pipeline')
    }
    const after = options.pipeline
      ? { pipeline: options.pipeline as string }
      : chosen[0]
        ? { kind: chosen[0] }
        : undefined
    await (await load.files()).putCommand(file, name, flagValues(options), io.stdout, after)
  })

  addConfigOptions(
    program
      .command('get')
      .description('download NAME to stdout, or to a file with -o')
      .argument('<name>', 'file name')
      .option('-o, --output <file>', 'write here (atomically) instead of stdout')
      .option('-f, --force', 'overwrite the output file'),
  ).action(async (name: string, options: Options) => {
    await (await load.files()).getCommand(name, options, flagValues(options))
  })

  addConfigOptions(
    program
      .command('ls')
      .description('list files (size, created, name), optionally under a prefix')
      .argument('[prefix]', 'only names that start with this')
      .option('--json', JSON_LINES),
  ).action(async (prefix: string | undefined, options: Options) => {
    await (await load.files()).lsCommand(
      prefix,
      options as { json?: boolean },
      flagValues(options),
      io.stdout,
    )
  })

  addConfigOptions(
    program.command('rm').description('delete a file').argument('<name>', 'file name'),
  ).action(async (name: string, options: Options) => {
    await (await load.files()).rmCommand(name, flagValues(options))
  })
}

/** jobs, watch, cancel: the job API of the gateway at PIPER_URL. */
function jobCommands(program: Command, io: ProgramIo): void {
  addConfigOptions(
    program
      .command('jobs')
      .description(
        'list jobs (id, state, type, input → output, figures or error), oldest first (or --newest)',
      )
      .option(
        '--state <state>',
        'only jobs in this state: queued, running, succeeded, failed, cancelled',
      )
      .option('--newest', 'newest first')
      .option('--limit <n>', 'at most this many')
      .option('--json', JSON_LINES),
  ).action(async (options: Options) => {
    await (await load.jobs()).jobsCommand(
      options as { state?: string; limit?: string; newest?: boolean; json?: boolean },
      flagValues(options),
      io.stdout,
    )
  })

  addConfigOptions(
    program
      .command('watch')
      .description(
        'follow a job or run live until it ends (progress bar on a terminal); exit 1 unless it succeeded',
      )
      .argument('<id>', 'job id, or run id'),
  ).action(async (id: string, options: Options) => {
    await (await load.jobs()).watchCommand(id, flagValues(options), io.stdout)
  })

  addConfigOptions(
    program
      .command('cancel')
      .description('cancel a queued or running job, or a run and its jobs')
      .argument('<id>', 'job id, or run id'),
  ).action(async (id: string, options: Options) => {
    await (await load.jobs()).cancelCommand(id, flagValues(options), io.stdout)
  })
}

/** pipelines, run, runs, kinds: the pipeline API of the gateway at PIPER_URL. */
function pipelineCommands(program: Command, io: ProgramIo): void {
  const pipelines = program
    .command('pipelines')
    .description('list pipelines; apply, show or remove one (see docs/pipelines.md)')
  addConfigOptions(
    pipelines
      .command('ls', { isDefault: true })
      .description('list pipelines: name, version, steps'),
  ).action(async (options: Options) => {
    await (await load.pipelines()).pipelinesListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    pipelines
      .command('apply')
      .description('store the pipeline a JSON or YAML file describes, as its next version')
      .argument('[file]', 'pipeline file ({name, steps})')
      .option('--template <name>', 'a pipeline shipped with Piper instead: image-tagging'),
  ).action(async (file: string | undefined, options: Options & { template?: string }) => {
    const { pipelinesApplyCommand } = await load.pipelines()
    await pipelinesApplyCommand(file, options.template, flagValues(options), io.stdout)
  })
  addConfigOptions(
    pipelines
      .command('show')
      .description('print a pipeline as JSON')
      .argument('<name>', 'pipeline name'),
  ).action(async (name: string, options: Options) => {
    await (await load.pipelines()).pipelinesShowCommand(name, flagValues(options), io.stdout)
  })
  addConfigOptions(
    pipelines
      .command('rm')
      .description('delete a pipeline (every version; runs keep theirs)')
      .argument('<name>', 'pipeline name'),
  ).action(async (name: string, options: Options) => {
    await (await load.pipelines()).pipelinesRmCommand(name, flagValues(options))
  })

  addConfigOptions(
    program
      .command('run')
      .description('run PIPELINE on stored files; prints the run (follow it with piper watch)')
      .argument('<pipeline>', 'pipeline name')
      .argument('<inputs...>', 'names of stored files'),
  ).action(async (pipeline: string, inputs: string[], options: Options) => {
    await (await load.pipelines()).runCommand(pipeline, inputs, flagValues(options), io.stdout)
  })

  addConfigOptions(
    program
      .command('runs')
      .description('list runs (id, state, pipeline, steps done), oldest first (or --newest)')
      .option('--state <state>', 'only runs in this state')
      .option('--newest', 'newest first')
      .option('--limit <n>', 'at most this many')
      .option('--json', JSON_LINES),
  ).action(async (options: Options) => {
    await (await load.pipelines()).runsCommand(
      options as { state?: string; limit?: string; newest?: boolean; json?: boolean },
      flagValues(options),
      io.stdout,
    )
  })

  addConfigOptions(
    program.command('kinds').description('list the job kinds: what each reads and writes'),
  ).action(async (options: Options) => {
    await (await load.pipelines()).kindsCommand(flagValues(options), io.stdout)
  })

  addConfigOptions(
    program
      .command('retry')
      .description('put a failed job back on the queue, from its start')
      .argument('<job>', 'job id'),
  ).action(async (id: string, options: Options) => {
    await (await load.dlq()).retryCommand(id, flagValues(options), io.stdout)
  })

  const dlq = program
    .command('dlq')
    .description("dead-lettered job tasks: list their topics, or retry a topic's failed jobs")
  addConfigOptions(
    dlq.command('ls', { isDefault: true }).description('dead-letter topics and their letters'),
  ).action(async (options: Options) => {
    await (await load.dlq()).dlqListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    dlq
      .command('redrive')
      .description('retry your failed jobs whose tasks were dead-lettered on TOPIC')
      .argument('<topic>', 'e.g. jobs.compress.dlq'),
  ).action(async (topic: string, options: Options) => {
    await (await load.dlq()).dlqRedriveCommand(topic, flagValues(options), io.stdout)
  })
}

/** keys create / ls / revoke: API keys in the metadata store (PIPER_META). */
function keysCommands(program: Command, io: ProgramIo): void {
  const keys = program
    .command('keys')
    .description(
      'manage API keys (in the metadata store; the gateway requires them once one exists)',
    )
  addConfigOptions(
    keys
      .command('create')
      .description('create an API key for CLIENT and print it (shown only once)')
      .argument('<client>', 'client id, e.g. alice')
      .option('--label <text>', 'a note to tell keys apart')
      .option(
        '--from-file <file>',
        'take the key from FILE (e.g. a mounted secret) instead of making one; nothing printed, a key already there kept',
      ),
  ).action(async (client: string, options: Options) => {
    await (await load.keys()).keysCreateCommand(client, options, flagValues(options), io.stdout)
  })
  addConfigOptions(
    keys.command('ls').description('list keys: client, fingerprint, created, label'),
  ).action(async (options: Options) => {
    await (await load.keys()).keysListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    keys
      .command('revoke')
      .description('revoke the key of CLIENT with FINGERPRINT (from keys ls)')
      .argument('<client>', 'client id')
      .argument('<fingerprint>', 'hex prefix shown by keys ls'),
  ).action(async (client: string, fingerprint: string, options: Options) => {
    await (await load.keys()).keysRevokeCommand(client, fingerprint, flagValues(options))
  })
}

/** stats and webhooks: the client's usage, and its endpoints for events. */
function usageCommands(program: Command, io: ProgramIo): void {
  addConfigOptions(
    program
      .command('stats')
      .description('usage by bucket: uploads, bytes, jobs ended, job latency p50/p95/p99 by kind')
      .option('--bucket <size>', 'minute, hour or day', 'hour')
      .option('--from <time>', 'ISO 8601 time (default: a day before --to)')
      .option('--to <time>', 'ISO 8601 time (default: now)')
      .option('--kind <kind>', 'only jobs of this kind')
      .option('--all', "every client's together (administrators)")
      .option('--json', 'print the answer of /v1/stats as it is'),
  ).action(async (options: Options) => {
    await (await load.usage()).statsCommand(options, flagValues(options), io.stdout)
  })
  const webhooks = program
    .command('webhooks')
    .description('list webhooks; add, remove, rotate the secret of, enable one; its deliveries')
  addConfigOptions(
    webhooks
      .command('ls', { isDefault: true })
      .description('list webhooks: id, state, events, URL'),
  ).action(async (options: Options) => {
    await (await load.usage()).webhooksListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    webhooks
      .command('add')
      .description('register an endpoint; prints its secret once')
      .argument('<url>', 'http(s) URL of the endpoint')
      .requiredOption('--events <names>', 'comma-separated: file.created, job.*, run.succeeded, *'),
  ).action(async (url: string, options: Options) => {
    const { webhooksAddCommand } = await load.usage()
    await webhooksAddCommand(url, String(options.events), flagValues(options), io.stdout)
  })
  for (const [action, what] of [
    ['rm', 'remove a webhook'],
    ['rotate', 'give a webhook a new secret (the old one signs for a day more)'],
    ['enable', 'turn a disabled webhook on again'],
  ] as const) {
    addConfigOptions(
      webhooks.command(action).description(what).argument('<id>', 'webhook id (wh_…)'),
    ).action(async (id: string, options: Options) => {
      const { webhooksActionCommand } = await load.usage()
      await webhooksActionCommand(action, id, flagValues(options), io.stdout)
    })
  }
  addConfigOptions(
    webhooks
      .command('deliveries')
      .description('the latest delivery attempts of a webhook, newest first')
      .argument('<id>', 'webhook id (wh_…)'),
  ).action(async (id: string, options: Options) => {
    await (await load.usage()).webhooksDeliveriesCommand(id, flagValues(options), io.stdout)
  })
}

/** schedules: cron schedules of pipeline runs on the gateway at PIPER_URL. */
function scheduleCommands(program: Command, io: ProgramIo): void {
  const schedules = program
    .command('schedules')
    .description('list schedules of pipeline runs; apply, show, pause, resume or remove one')
  addConfigOptions(
    schedules
      .command('ls', { isDefault: true })
      .description('list schedules: name, cron (zone), pipeline, next tick'),
  ).action(async (options: Options) => {
    await (await load.schedules()).schedulesListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    schedules
      .command('apply')
      .description('create or replace the schedule a JSON or YAML file describes')
      .argument(
        '<file>',
        'schedule file ({name, cron, timezone?, pipeline, input|inputs|prefix, …})',
      ),
  ).action(async (file: string, options: Options) => {
    await (await load.schedules()).schedulesApplyCommand(file, flagValues(options), io.stdout)
  })
  addConfigOptions(
    schedules
      .command('show')
      .description('print a schedule and its recent ticks as JSON')
      .argument('<name>', 'schedule name'),
  ).action(async (name: string, options: Options) => {
    await (await load.schedules()).schedulesShowCommand(name, flagValues(options), io.stdout)
  })
  for (const action of ['pause', 'resume'] as const) {
    addConfigOptions(
      schedules
        .command(action)
        .description(
          action === 'pause' ? 'stop starting runs' : 'start runs again from the next tick',
        )
        .argument('<name>', 'schedule name'),
    ).action(async (name: string, options: Options) => {
      const { schedulesPauseCommand } = await load.schedules()
      await schedulesPauseCommand(name, action, flagValues(options), io.stdout)
    })
  }
  addConfigOptions(
    schedules
      .command('rm')
      .description('delete a schedule (the runs it started stay)')
      .argument('<name>', 'schedule name'),
  ).action(async (name: string, options: Options) => {
    await (await load.schedules()).schedulesRmCommand(name, flagValues(options))
  })
}

/** backup create, ls, verify, restore, prune: backups of the metadata and chunks to a blob store. */
function backupCommands(program: Command, io: ProgramIo): void {
  const backup = program
    .command('backup')
    .description('back the metadata and chunks up to a blob store; list, verify, restore, prune')
  const keep = (c: Command) =>
    c
      .option('--keep-last <n>', 'keep the newest N backups')
      .option('--keep-daily <n>', 'keep the newest backup of each of the last N days with one')
      .option('--keep-weekly <n>', 'keep the newest backup of each of the last N weeks with one')
  addConfigOptions(
    keep(
      backup
        .command('create')
        .description('back up now, while Piper serves: prints the manifest; progress on stderr')
        .option('--to <url>', 'blob store of the backups (default PIPER_BACKUPS)'),
    ),
  ).action(async (options: Options) => {
    await (await load.backup()).backupCreateCommand(options, flagValues(options), io.stdout)
  })
  addConfigOptions(
    backup
      .command('ls')
      .description('the backups: id, state, started, files, chunks, bytes, bytes copied')
      .option('--from <url>', 'blob store of the backups (default PIPER_BACKUPS)'),
  ).action(async (options: Options) => {
    await (await load.backup()).backupListCommand(options, flagValues(options), io.stdout)
  })
  addConfigOptions(
    backup
      .command('verify')
      .description('read every chunk of a backup back and check its hash (exit 1 if damaged)')
      .argument('<id>', 'backup id (piper backup ls) or latest')
      .option('--from <url>', 'blob store of the backups (default PIPER_BACKUPS)'),
  ).action(async (id: string, options: Options) => {
    await (await load.backup()).backupVerifyCommand(id, options, flagValues(options), io.stdout)
  })
  addConfigOptions(
    backup
      .command('restore')
      .description('restore a backup into a new --data folder (or empty --meta and --blobs)')
      .argument('<id>', 'backup id (piper backup ls) or latest')
      .option('--from <url>', 'blob store of the backups (default PIPER_BACKUPS)'),
  ).action(async (id: string, options: Options) => {
    await (await load.backup()).backupRestoreCommand(id, options, flagValues(options), io.stdout)
  })
  addConfigOptions(
    keep(
      backup
        .command('prune')
        .description('delete the backups the --keep-* options do not keep, and chunks none needs')
        .option('--to <url>', 'blob store of the backups (default PIPER_BACKUPS)')
        .option('--dry-run', 'only say what would be deleted'),
    ),
  ).action(async (options: Options) => {
    await (await load.backup()).backupPruneCommand(options, flagValues(options), io.stdout)
  })
}

/** storage serve: a storage node for nodes:// blob stores. */
function storageCommands(program: Command, io: ProgramIo): void {
  const storage = program
    .command('storage')
    .description('storage nodes: serve one; repair the blobs on them')
  addConfigOptions(
    storage
      .command('serve')
      .description('serve the blobs of --data as a storage node (--port defaults to 7601 here)'),
  ).action(async (options: Options) => {
    const flags = flagValues(options)
    const { host, port, ...rest } = flags
    await (await load.storage()).storageServeCommand(
      { host: host ?? '127.0.0.1', port: port ?? '7601' },
      rest,
    )
  })
  addConfigOptions(
    storage
      .command('ls')
      .description(
        'the storage nodes of the registry: id, state, address, used/capacity, last seen',
      ),
  ).action(async (options: Options) => {
    await (await load.storage()).storageListCommand(flagValues(options), io.stdout)
  })
  addConfigOptions(
    storage
      .command('add')
      .description('register a running storage node (nodes://registry places blobs on it)')
      .argument('<address>', 'host:port of the node'),
  ).action(async (address: string, options: Options) => {
    await (await load.storage()).storageAddCommand(address, flagValues(options), io.stdout)
  })
  for (const [verb, state, what] of [
    ['drain', 'draining', 'take no new copies; piper storage repair moves its copies away'],
    [
      'remove',
      'removed',
      'forget the node (drain it and repair first, or its copies are lost to reads)',
    ],
  ] as const) {
    addConfigOptions(
      storage.command(verb).description(what).argument('<id>', 'node id (piper storage ls)'),
    ).action(async (id: string, options: Options) => {
      await (await load.storage()).storageStateCommand(id, state, flagValues(options))
    })
  }
  addConfigOptions(
    storage
      .command('repair')
      .description(
        'put every blob of the nodes:// store where placement wants it: heal lost copies, rebalance onto new nodes, remove surplus',
      )
      .option(
        '--verify',
        'read every copy back (the nodes check their hashes) and rewrite damaged ones: a scrub',
      ),
  ).action(async (options: Options & { verify?: boolean }) => {
    await (await load.storage()).storageRepairCommand(
      { verify: options.verify === true },
      flagValues(options),
      io.stdout,
    )
  })
}

/** queue serve / publish / consume / stats, against PIPER_QUEUE (default: embedded in --data). */
function queueCommands(program: Command, io: ProgramIo): void {
  const queue = program
    .command('queue')
    .description('the durable queue: serve it, publish, consume, see depth and lag')
  addConfigOptions(
    queue
      .command('serve')
      .description(
        'serve the embedded queue of --data over WebSocket (--port defaults to 7420 here)',
      )
      .option('--fsync <policy>', 'fsync of new topics: always, never or interval:MS', 'always'),
  ).action(async (options: Options) => {
    const flags = flagValues(options)
    const { host, port, ...rest } = flags
    await (await load.queue()).queueServeCommand(
      { host: host ?? '127.0.0.1', port: port ?? '7420', fsync: options.fsync as string },
      rest,
    )
  })
  addConfigOptions(
    queue
      .command('publish')
      .description('publish each line of stdin (or one --file) to TOPIC; prints confirmed offsets')
      .argument('<topic>', 'topic, e.g. jobs.compress')
      .option('--file <file>', 'publish this file as one message')
      .option('--idempotency-key <key>', 'idempotency key (with --file)')
      .option('--header <name=value...>', 'headers to add'),
  ).action(async (topic: string, options: Options) => {
    await (await load.queue()).queuePublishCommand(
      topic,
      options as PublishFlags,
      flagValues(options),
      io.stdout,
    )
  })
  addConfigOptions(
    queue
      .command('consume')
      .description('print payloads of TOPIC as group G, one per line')
      .argument('<topic>', 'topic')
      .requiredOption('--group <group>', 'consumer group')
      .option('--count <n>', 'stop after N messages (or when none came within --wait)')
      .option('--wait <ms>', 'how long one fetch waits', '1000')
      .option('--ack', 'acknowledge what is printed (default)', true)
      .option('--no-ack', 'leave messages unacknowledged: they are delivered again'),
  ).action(async (topic: string, options: Options) => {
    await (await load.queue()).queueConsumeCommand(
      topic,
      options as unknown as ConsumeFlags,
      flagValues(options),
      io.stdout,
    )
  })
  addConfigOptions(
    queue
      .command('stats')
      .description('messages, segments, bytes and per-group lag of one topic or all')
      .argument('[topic]', 'topic')
      .option('--json', 'print JSON'),
  ).action(async (topic: string | undefined, options: Options) => {
    await (await load.queue()).queueStatsCommand(topic, options, flagValues(options), io.stdout)
  })
}

/** A file-to-file codec command with the options compress and decompress share. */
function codecCommand(program: Command, name: string, description: string, force: string): Command {
  return program
    .command(name)
    .description(description)
    .argument('[file]', `file to ${name}, or - for stdin`)
    .option('-o, --output <file>', 'write here instead (- for stdout)')
    .option(
      '--threads <n>',
      'threads to use (default: one per core; one for an input of one chunk)',
    )
    .option('-f, --force', force)
}
