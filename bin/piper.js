#!/usr/bin/env node
// The `piper` command's entry point, in plain JavaScript so that any Node can read it. Piper
// runs on Node 24 (TypeScript by type stripping): on an older Node this re-runs the command on
// the Node 24 that `npm ci` installs into the project, passing signals and the exit status on.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major >= 24) {
  await import('./piper.ts')
} else {
  const node = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write(
      `piper: needs Node 24 or newer (this is ${process.version}); run \`npm ci\` in the project to install it\n`,
    )
    process.exit(1)
  }
  const child = spawn(
    node,
    [fileURLToPath(new URL('./piper.ts', import.meta.url)), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  )
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die the way the child did; our own forwarding handler must not catch it.
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else {
      process.exit(code ?? 1)
    }
  })
}
