import { CommanderError } from 'commander'
import { ConfigError } from '../config/index.ts'
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.ts'
import { buildProgram, type ProgramIo } from './program.ts'

const defaultIo: ProgramIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}

/**
 * Runs `piper` with the given arguments (without `node` and the script) and returns the exit
 * code: 0 on success, 1 on a runtime failure, 2 on a usage or configuration error.
 */
export async function main(argv: readonly string[], io: ProgramIo = defaultIo): Promise<number> {
  const program = buildProgram(io)
  if (argv.length === 0) {
    io.stderr(program.helpInformation())
    io.stderr('error: missing command\n')
    return EXIT_USAGE
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT_OK
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message; only the exit code is ours to set.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    }
    if (error instanceof ConfigError) {
      io.stderr(`piper: ${error.message}\n`)
      return EXIT_USAGE
    }
    if (error instanceof CliError) {
      io.stderr(`piper: ${error.message}\n`)
      return error.exitCode
    }
    const code = (error as { code?: unknown })?.code
    if (typeof code === 'string' && code.startsWith('E_')) {
      // Piper's own errors carry a stable code and a message meant for the user.
      io.stderr(`piper: ${(error as Error).message} (${code})\n`)
      return EXIT_FAILURE
    }
    io.stderr(`piper: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`)
    return EXIT_FAILURE
  }
}
