import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { cleanEnv, PIPER_BIN } from './cli.ts'

export interface PiperProcess {
  child: ChildProcess
  /** The exit code, once it exits. */
  exited: Promise<number | null>
  stdout: () => string
  stderr: () => string
}

/** Processes started here and not yet exited, for a test's `after` to kill. */
export const running = new Set<ChildProcess>()

/** `piper ARGS…` as a long-running process whose output is collected as it comes. */
export function startPiperProcess(
  args: string[],
  stdin: 'ignore' | 'pipe' = 'ignore',
): PiperProcess {
  const child = spawn(process.execPath, [PIPER_BIN, ...args], {
    env: cleanEnv(),
    stdio: [stdin, 'pipe', 'pipe'],
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child)
    return code as number | null
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}
