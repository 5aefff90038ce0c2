import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanEnv, PIPER_BIN, piperNodeFlags } from './cli.ts'
import { freePort } from './ports.ts'

export interface RunningNode {
  /** `127.0.0.1:PORT`, as nodes:// URLs name it. */
  address: string
  data: string
  child: ChildProcess
  output: () => string
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>
  /** SIGKILL, then waits for the exit. */
  kill: () => Promise<void>
  /** Starts it again on the same folder and port (after a stop or kill). */
  restart: () => Promise<RunningNode>
}

/**
 * Starts `piper storage serve` on a free loopback port, in a fresh folder unless given, and
 * waits until it says it is serving.
 */
export async function startStorageNode(
  options: { data?: string; port?: number; env?: Record<string, string> } = {},
): Promise<RunningNode> {
  if (options.port !== undefined) return startNodeOn(options, options.port)
  const data = options.data ?? (await mkdtemp(join(tmpdir(), 'piper-node-')))
  // A port chosen here can still be taken before the node binds it (another test's server):
  // then another one is chosen.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOn({ ...options, data }, await freePort())
    } catch (error) {
      if (attempt >= 5 || !String((error as Error).message).includes('EADDRINUSE')) throw error
    }
  }
}

async function startNodeOn(
  options: { data?: string; port?: number; env?: Record<string, string> },
  port: number,
): Promise<RunningNode> {
  const data = options.data ?? (await mkdtemp(join(tmpdir(), 'piper-node-')))
  const child = spawn(
    process.execPath,
    [
      ...piperNodeFlags(),
      PIPER_BIN,
      'storage',
      'serve',
      '--data',
      data,
      '--port',
      String(port),
      '--log-level',
      'info',
    ],
    { env: cleanEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  await new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      if (stderr.includes('"piper storage node is serving"')) resolve()
    })
    exited.then((code) => reject(new Error(`storage node exited with ${code}: ${stderr}`)))
  })
  return {
    address: `127.0.0.1:${port}`,
    data,
    child,
    output: () => stderr,
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    },
    kill: async () => {
      child.kill('SIGKILL')
      await exited
    },
    restart: () => startStorageNode({ ...options, data, port }),
  }
}

/**
 * `n` nodes, and a `stop` for all of them that also removes their folders. When one fails to
 * start (a port taken between choosing and binding it), those started are stopped before the
 * error is thrown: a test file must not be kept alive by nodes no one will stop.
 */
export async function startStorageNodes(n: number) {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startStorageNode()))
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(nodes.map((node) => node.stop()))
    throw failed.reason
  }
  return {
    nodes,
    addresses: nodes.map((node) => node.address),
    stop: async () => {
      await Promise.all(
        nodes.map((node) =>
          node.child.exitCode === null && node.child.signalCode === null ? node.stop() : undefined,
        ),
      )
      await Promise.all(nodes.map((node) => rm(node.data, { recursive: true, force: true })))
    },
  }
}
