import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanEnv, PIPER_BIN, piperNodeFlags } from './cli.ts'

export interface RunningPiper {
  url: string
  data: string
  child: ChildProcess
  /** Everything the process wrote to stderr so far (its log lines). */
  output: () => string
  /** The `msg` of every log line the process wrote so far. */
  messages: () => string[]
  /** SIGTERM, then waits for the exit; the exit code. */
  stop: () => Promise<number | null>
  /** Resolves with the exit code once the process has exited (however it was stopped). */
  exited: Promise<number | null>
}

/**
 * Starts `piper up --port 0` in a data folder (a fresh one unless given) and waits for its URL.
 * `fileSizeLimitKiB` runs it under `ulimit -f`: a write past that size fails with EFBIG, as on
 * a full disk (Node ignores SIGXFSZ).
 */
export async function startPiper(
  args: readonly string[] = [],
  env: Record<string, string> = {},
  dataDir?: string,
  options: { fileSizeLimitKiB?: number } = {},
): Promise<RunningPiper> {
  const data = dataDir ?? (await mkdtemp(join(tmpdir(), 'piper-e2e-')))
  const limit = options.fileSizeLimitKiB
  const [command, prefix] =
    limit === undefined
      ? [process.execPath, []]
      : ['bash', ['-c', `ulimit -f ${limit} && exec "$0" "$@"`, process.execPath]]
  const running = await spawnUntil(
    command,
    [
      ...prefix,
      ...piperNodeFlags(),
      PIPER_BIN,
      'up',
      '--port',
      '0',
      '--data',
      data,
      '--log-level',
      'info',
      ...args,
    ],
    env,
    'piper is up',
  )
  return { ...running, data }
}

/**
 * Starts `piper gateway` or `piper worker` (with `args`: the shared stores) on a free port and
 * waits for its "is up" line.
 */
export async function startRole(
  role: 'gateway' | 'worker',
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Omit<RunningPiper, 'data'>> {
  return spawnUntil(
    process.execPath,
    [...piperNodeFlags(), PIPER_BIN, role, '--port', '0', '--log-level', 'info', ...args],
    env,
    `piper ${role} is up`,
  )
}

/** Spawns a piper command and resolves with its URL once it logs `ready` (a JSON line with `url`). */
async function spawnUntil(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: string,
): Promise<Omit<RunningPiper, 'data'>> {
  const child = spawn(command, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  // Logs are JSON lines on stderr (stdout is for data); the ready line carries the URL.
  let stderr = ''
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      buffered += d
      for (const line of buffered.split('\n')) {
        if (!line.includes(`"${ready}"`)) continue
        resolve((JSON.parse(line) as { url: string }).url)
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1)
    })
    exited.then((code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`)))
  })
  return {
    url,
    child,
    output: () => stderr,
    messages: () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => String((JSON.parse(line) as { msg?: unknown }).msg)),
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    },
    exited,
  }
}
