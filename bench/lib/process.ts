import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** Wall time of a command, in ms; fails loudly when it fails. */
export function timed(command: string, args: string[]): number {
  const start = performance.now()
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${run.status}`)
  return performance.now() - start
}

/** A process's peak resident memory so far (VmHWM), in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  return (await procStatusKiB(pid, 'VmHWM')) / 1024
}

/** A process's resident memory now (VmRSS), in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  return (await procStatusKiB(pid, 'VmRSS')) / 1024
}

async function procStatusKiB(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1])
}
