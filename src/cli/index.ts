/** The `piper` command. */
export { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.ts'
export { main } from './main.ts'
export { buildProgram, type ProgramIo } from './program.ts'
export { type Component, Supervisor } from './supervisor.ts'
