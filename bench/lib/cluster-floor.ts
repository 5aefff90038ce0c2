/**
 * The floor under a cluster's job on one machine: what must cross between its processes, with
 * none of Piper's code. Per job: the job's post (a small HTTP request), its input fetched from a
 * bare blob server and its output stored there durably (`blob-echo.ts`), `statements` round
 * trips to the same PostgreSQL (`SELECT $1`, cheaper than any statement Piper sends), and
 * `messages` round trips over a bare WebSocket (`ws-echo.ts`) for the queue's messages. What it
 * returns is the machine's CPU per job meanwhile, every process counted.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { WebSocket } from 'ws'
import { encodeChunk, histogram, sha256Hex } from '../../src/codec/index.ts'
import { machineCpu } from './machine-cpu.ts'

export interface FloorShape {
  jobs: number
  inFlight: number
  inputs: readonly Uint8Array[]
  /** The output's size for each input (what the codec made of it). */
  outputSizes: readonly number[]
  statements: number
  messages: number
  databaseUrl: string
}

export interface ClusterFloor {
  cpuMsPerJob: number
  statements: number
}

/**
 * The codec's CPU per job, in this process (a loop, not the product's figure): each input's
 * compression, and the sha256 of its input and output that a worker checks and records.
 */
export function codecPerJob(inputs: readonly Uint8Array[]): {
  cpuMs: number
  outputSizes: number[]
} {
  for (const input of inputs.slice(0, 3)) encodeChunk(input, histogram(input))
  const outputSizes: number[] = []
  const before = process.cpuUsage()
  for (const input of inputs) {
    const output = encodeChunk(input, histogram(input))
    sha256Hex(input)
    sha256Hex(output)
    outputSizes.push(output.length)
  }
  const used = process.cpuUsage(before)
  return { cpuMs: (used.user + used.system) / 1000 / inputs.length, outputSizes }
}

export async function clusterFloor(shape: FloorShape): Promise<ClusterFloor> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-bench-floor-'))
  const started: ChildProcess[] = []
  const agent = new Agent({ keepAlive: true, maxSockets: shape.inFlight * 2 })
  const pool = new pg.Pool({ connectionString: shape.databaseUrl, max: shape.inFlight })
  const sockets: WebSocket[] = []
  try {
    const blobs = await child(started, './blob-echo.ts', [dir])
    const echo = await child(started, './ws-echo.ts', [])
    for (let i = 0; i < shape.inFlight; i++) {
      const socket = new WebSocket(`ws://127.0.0.1:${echo}`)
      sockets.push(socket)
      await once(socket, 'open')
    }
    for (let i = 0; i < shape.jobs; i++) await call(agent, blobs, 'PUT', `/in${i}`, shape.inputs[i])
    await pool.query('SELECT 1')
    const message = Buffer.alloc(300, 1)
    let next = 0
    const { cpuSeconds } = await machineCpu(() =>
      Promise.all(
        sockets.map(async (socket) => {
          while (next < shape.jobs) {
            const i = next++
            await call(agent, blobs, 'GET', '/post')
            await call(agent, blobs, 'GET', `/in${i}`)
            const output = shape.inputs[i]!.subarray(0, shape.outputSizes[i])
            await call(agent, blobs, 'PUT', `/out${i}`, output)
            for (let s = 0; s < shape.statements; s++) await pool.query('SELECT $1::int', [s])
            for (let m = 0; m < shape.messages; m++) {
              socket.send(message)
              await once(socket, 'message')
            }
          }
        }),
      ),
    )
    return { cpuMsPerJob: (cpuSeconds * 1000) / shape.jobs, statements: shape.statements }
  } finally {
    for (const socket of sockets) socket.close()
    await pool.end()
    agent.destroy()
    for (const proc of started) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue
      proc.kill('SIGTERM')
      await once(proc, 'exit')
    }
    await rm(dir, { recursive: true, force: true })
  }
}

/** Starts `script` (beside this file) in a process of its own; the port it prints. */
async function child(started: ChildProcess[], script: string, args: string[]): Promise<number> {
  const path = fileURLToPath(new URL(script, import.meta.url))
  const proc = spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  started.push(proc)
  // A process that dies before it prints its port fails the bench instead of hanging it.
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`${script} exited with ${code} before it listened`)
  })
  const [line] = (await Promise.race([once(proc.stdout!, 'data'), exited])) as [Buffer]
  exited.catch(() => {})
  return Number(line.toString().trim())
}

/** One HTTP request on `agent`; resolves with the response's length once it is read. */
function call(agent: Agent, port: number, method: string, path: string, body?: Uint8Array) {
  return new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let length = 0
      res.on('data', (piece: Buffer) => {
        length += piece.length
      })
      res.on('end', () => resolve(length))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
