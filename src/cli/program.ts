import { Command } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
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

  return program
}
