import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cleanEnv, PIPER_BIN, piperNodeFlags } from './cli.ts'
import { freePort } from './ports.ts'
import { isListening } from './services.ts'

/** `piper queue serve` on a free port (or `port`) with its data in `dir/queue`; `stop()` ends it. */
export async function startQueueServer(dir: string, port?: number) {
  port ??= await freePort()
  const child = spawn(
    process.execPath,
    [
      ...piperNodeFlags(),
      PIPER_BIN,
      'queue',
      'serve',
      '--data',
      join(dir, 'queue'),
      '--port',
      String(port),
    ],
    { env: cleanEnv(), stdio: 'ignore' },
  )
  while (!(await isListening('127.0.0.1', port, 200))) {
    if (child.exitCode !== null) throw new Error('piper queue serve exited')
    await sleep(25)
  }
  return {
    url: `piper://127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill('SIGTERM')
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}
