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

/** CPU seconds (user + system) the processes whose command line matches `pattern` used so far. */
async function cpuSeconds(pattern: string): Promise<number> {
  const pids = spawnSync('pgrep', ['-f', pattern]).stdout.toString().trim().split('\n')
  let ticks = 0
  for (const pid of pids.filter(Boolean)) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {} // gone meanwhile
  }
  return ticks / 100
}

/**
 * Waits until the processes matching `pattern` are idle: under a tenth of a core over half a
 * second (at most `maxMs`). A server's background work after one measurement (Swift updating
 * its container listings after hundreds of PUTs) must not be billed to the next.
 */
export async function settled(pattern: string, maxMs = 60_000): Promise<void> {
  const deadline = performance.now() + maxMs
  while (performance.now() < deadline) {
    const before = await cpuSeconds(pattern)
    await new Promise((resolve) => setTimeout(resolve, 500))
    if ((await cpuSeconds(pattern)) - before < 0.05) return
  }
}
