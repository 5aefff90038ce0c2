/**
 * The floor under a decoder's output on this machine: how fast memory the process has not used
 * yet can be written for the first time, by one thread and by two at once. A decoder writes
 * each output byte once; where the host backs guest memory on first touch (seen on a 2-core VM
 * here: 262-345 MB/s on one thread, only 1.2-1.7× that on two), a benchmark that keeps every
 * output is bounded by it, on one thread or two.
 */
import { Worker } from 'node:worker_threads'

const MIB = 1 << 20

/** Allocates `mib` fresh 1 MiB buffers and writes one byte per 4 KiB page of each; ms taken. */
function touchFresh(mib: number): number {
  const kept: Uint8Array[] = []
  const start = performance.now()
  for (let i = 0; i < mib; i++) {
    const buffer = new Uint8Array(MIB)
    for (let at = 0; at < MIB; at += 4096) buffer[at] = 1
    kept.push(buffer)
  }
  return performance.now() - start
}

// Each thread starts, says so, and touches its memory when every thread is ready.
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads')
  const MIB = ${MIB}
  ${touchFresh.toString()}
  parentPort.once('message', () => parentPort.postMessage(touchFresh(workerData)))
  parentPort.postMessage('ready')
`

/** Runs `touchFresh(mib)` on `threads` threads at once; the slowest thread's ms. */
async function together(threads: number, mib: number): Promise<number> {
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: mib }),
  )
  try {
    const next = (worker: Worker) =>
      new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
    await Promise.all(workers.map(next))
    const times = workers.map(next)
    for (const worker of workers) worker.postMessage('go')
    return Math.max(...((await Promise.all(times)) as number[]))
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()))
  }
}

/**
 * MB/s of first writes to fresh memory by `threads` threads at once (in all), `mib` MiB in
 * all. Run it once per process: a later thread may reuse an ended thread's memory.
 */
export async function freshMemoryRate(threads: number, mib = 64): Promise<number> {
  const ms = await together(threads, mib / threads)
  return (mib * MIB) / 1e6 / (ms / 1000)
}

// `node fresh-memory.ts THREADS MIB` prints the rate: the codec bench runs each count in a
// process of its own.
if (import.meta.main) {
  const [threads = '1', mib = '64'] = process.argv.slice(2)
  process.stdout.write(`${await freshMemoryRate(Number(threads), Number(mib))}\n`)
}
