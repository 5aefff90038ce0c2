/**
 * `npm run bench -- consume`: `piper queue consume` as users run it, whole processes against a
 * `piper queue serve` on this machine: the rate with `--ack` (every printed message
 * acknowledged, durably) against `--no-ack`, alternating, medians of 3 runs each. Each run is a
 * fresh consumer group reading the same N messages, so both read the same bytes.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { median, printTable } from './lib/measure.ts'

const PIPER = fileURLToPath(new URL('../bin/piper.js', import.meta.url)) // as users run it
const N = Number(process.env.BENCH_MESSAGES ?? 100_000)
const RUNS = 3
const port = 17000 + Math.floor(Math.random() * 1000)
const url = `piper://127.0.0.1:${port}`

function listening(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function piper(args: string[], input?: string): number {
  const start = performance.now()
  const run = spawnSync(process.execPath, [PIPER, ...args, '--queue', url], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'],
    maxBuffer: 1 << 30,
  })
  if (run.status !== 0) throw new Error(`piper ${args.join(' ')} exited with ${run.status}`)
  return performance.now() - start
}

const data = await mkdtemp(join(tmpdir(), 'piper-bench-consume-'))
const server = spawn(
  process.execPath,
  [PIPER, 'queue', 'serve', '--data', data, '--port', String(port)],
  {
    stdio: 'ignore',
  },
)
try {
  while (!(await listening())) await sleep(25)
  const lines = Array.from({ length: N }, (_, i) => `message ${i} ${'x'.repeat(50)}\n`).join('')
  piper(['queue', 'publish', 'bench.consume'], lines)
  const ms: Record<'ack' | 'noAck', number[]> = { ack: [], noAck: [] }
  for (let run = 0; run < RUNS; run++) {
    for (const mode of run % 2 === 0 ? (['noAck', 'ack'] as const) : (['ack', 'noAck'] as const)) {
      const flags = mode === 'ack' ? ['--ack'] : ['--no-ack']
      ms[mode].push(
        piper([
          'queue',
          'consume',
          'bench.consume',
          '--group',
          `g-${mode.toLowerCase()}-${run}`,
          '--count',
          String(N),
          ...flags,
        ]),
      )
    }
  }
  const rate = (xs: number[]) => N / (median(xs) / 1000)
  console.log(
    `piper queue consume of ${N} messages (~60 B) from piper queue serve, whole processes, median of ${RUNS}`,
  )
  printTable([
    ['mode', 'median s', 'msg/s'],
    ['--no-ack', median(ms.noAck) / 1000, rate(ms.noAck)],
    ['--ack', median(ms.ack) / 1000, rate(ms.ack)],
  ])
  console.log(`--ack / --no-ack rate: ${(rate(ms.ack) / rate(ms.noAck)).toFixed(2)}`)
} finally {
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  await rm(data, { recursive: true, force: true })
}
