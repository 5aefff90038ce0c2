#!/usr/bin/env -S node --max-semi-space-size=8
// The `piper` command's entry point, in plain JavaScript so that any Node can read it. Piper
// runs on Node 24 (TypeScript by type stripping): on an older Node this re-runs the command on
// the Node 24 that `npm ci` installs into the project, passing signals and the exit status on.
//
// --max-semi-space-size=8 (MiB): a young generation that lets a pipeline's records, which live
// through a run (~1 s), die young instead of being promoted and marked: +15% runs a second and
// 13% less CPU a run than with 1 MiB (docs/performance.md). It was 1 MiB while an upload's dead
// socket reads (64 KiB each) waited for scavenges: a 1 GiB upload's peak RSS then grew by ~47
// MiB with 4 or 8. Those reads are now freed as they are copied (src/codec/owned-pieces.ts).
// V8 reads it only at start: `npm start` and the shebang pass it; so does the re-run below.
//
// `piper queue serve` is the exception: it holds each batch of published messages until its
// fsync, and with a small young generation they outlive scavenges and are copied and promoted.
// With V8's default, the server used half the CPU per message (with 1 MiB: 100k batched 1 KiB
// publishes, 1.5 → 0.8 CPU-s, 66k → 90k msg/s), so it replaces itself (execve, same pid) by a
// Node without the flag.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import module from 'node:module'
import { fileURLToPath } from 'node:url'

const YOUNG_GENERATION = '--max-semi-space-size=8'
const queueServe = process.argv[2] === 'queue' && process.argv[3] === 'serve'
const major = Number(process.versions.node.split('.')[0])
if (major >= 24 && queueServe && process.execArgv.includes(YOUNG_GENERATION)) {
  try {
    process.execve?.(process.execPath, [
      process.execPath,
      ...process.execArgv.filter((flag) => flag !== YOUNG_GENERATION),
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ])
  } catch {
    // Where execve is missing (Windows) or refused, the server runs on as it is: slower, not wrong.
  }
}
if (major >= 24) {
  // Type stripping instantiates a WebAssembly compiler in every thread that loads TypeScript
  // (~20 MiB each); with the compile cache, later runs load the stripped code from disk instead.
  // Worker threads find the cache through the environment, which they copy when they start.
  // NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  const { directory } = module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE) ?? {}
  if (directory) process.env.NODE_COMPILE_CACHE ??= directory
  await import('./piper.ts')
} else {
  const node = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write(
      `piper: needs Node 24 or newer (this is ${process.version}); run \`npm ci\` in the project to install it\n`,
    )
    process.exit(1)
  }
  // This file again, not piper.ts: on Node 24 it turns the compile cache on (a command that
  // skipped it started in ~0.8 s here instead of ~0.35 s).
  const child = spawn(
    node,
    [
      ...(queueServe ? [] : [YOUNG_GENERATION]),
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
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
