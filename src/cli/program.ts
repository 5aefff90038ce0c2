import { Command } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
import { type CodecFlags, compressCommand, decompressCommand } from './commands/codec.ts'
import { configCommand } from './commands/config.ts'
import { upCommand } from './commands/up.ts'
import { addConfigOptions, flagValues } from './config-options.ts'

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
    await upCommand(flagValues(options))
  })

  addConfigOptions(
    program
      .command('config')
      .description('print the effective configuration as JSON (secrets masked)'),
  ).action((options: Record<string, unknown>) => {
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
      await compressCommand(file, options)
    })

  codecCommand(
    program,
    'decompress',
    'decompress FILE.gz to FILE (any gzip); - or no FILE: stdin to stdout',
    'overwrite the output',
  )
    .option('--max-output <size>', 'refuse to write more than this, e.g. 10G (default: no limit)')
    .action(async (file: string | undefined, options: CodecFlags) => {
      await decompressCommand(file, options)
    })

  return program
}

/** A file-to-file codec command with the options compress and decompress share. */
function codecCommand(program: Command, name: string, description: string, force: string): Command {
  return program
    .command(name)
    .description(description)
    .argument('[file]', `file to ${name}, or - for stdin`)
    .option('-o, --output <file>', 'write here instead (- for stdout)')
    .option('--threads <n>', 'threads to use (default: one per core)')
    .option('-f, --force', force)
}
