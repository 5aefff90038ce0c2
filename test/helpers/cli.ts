import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * The `piper` command's entry, as users run it: on Node 24 it turns on Node's compile cache (so
 * processes and their codec threads do not strip TypeScript at every start), then runs piper.ts.
 */
export const PIPER_BIN = fileURLToPath(new URL('../../bin/piper.js', import.meta.url))

/** The V8 flag `bin/piper.js`'s shebang and `npm start` pass (see bin/piper.js for why). */
export const YOUNG_GENERATION = '--max-semi-space-size=8'

/**
 * The Node flags a long-running `piper` process starts with: the V8 flag `piper`'s shebang
 * passes (as users run it), and with `PIPER_BENCH_CPU_PROF=DIR` a CPU profile of every thread
 * into DIR (Node refuses `--cpu-prof` in `NODE_OPTIONS`, so a bench's servers get it here).
 */
export function piperNodeFlags(): string[] {
  const profile = process.env.PIPER_BENCH_CPU_PROF
  return [YOUNG_GENERATION, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])]
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `piper ARGS…` as a real process on the Node that runs the tests. */
export function runPiper(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PIPER_BIN, ...args], {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

/** The test process's environment without `PIPER_*` variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PIPER_')) env[k] = v
  return { ...env, ...extra }
}
