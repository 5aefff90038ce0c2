#!/usr/bin/env node
import { main } from '../src/cli/index.ts'

// A reader that stops early (`piper jobs | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  process.exit(process.exitCode ?? 0)
})

const code = await main(process.argv.slice(2))
// A long-running command that stopped badly (a component that failed to close) set its own.
process.exitCode = code === 0 ? (process.exitCode ?? 0) : code
