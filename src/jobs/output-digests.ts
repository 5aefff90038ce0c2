import { freeNow } from '../codec/index.ts'
import { RunningDigest } from '../files/index.ts'

/** Parts' outputs held, across jobs, while an earlier part of theirs is not yet stored. */
const WAITING_BYTES = 64 << 20
/** Jobs followed at once; the oldest is forgotten past this (its join reads everything back). */
const MAX_JOBS = 16

interface Followed {
  digest: RunningDigest
  /** Outputs stored ahead of their turn, by part. */
  waiting: Map<number, { key: string; bytes: Uint8Array }>
  /** Set when an output could not wait: the digest keeps what it has and takes no more. */
  stopped: boolean
}

/**
 * The sha256 of each job output this process is assembling from parts, hashed as the parts are
 * stored, while their bytes are still in memory: the join of a 512 MiB compress job otherwise
 * read its ~300 MiB of output back and hashed it twice (each chunk against its key, and the
 * whole) on one thread while every other core sat idle. A part stored ahead of its turn waits
 * here, within a memory budget, for those before it (the pool finishes parts about in order).
 *
 * Only an optimisation: the join reads back whatever was not hashed here — every chunk when the
 * parts ran on other processes, or after a restart, or from the first output that could not
 * wait — and uses nothing unless the upload's chunks begin with the keys hashed here.
 */
export class OutputDigests {
  readonly #jobs = new Map<string, Followed>()
  readonly #budget: number
  #waitingBytes = 0

  constructor(options: { waitingBytes?: number } = {}) {
    this.#budget = options.waitingBytes ?? WAITING_BYTES
  }

  /** Hashes part `seq`'s output (stored under `key`) in its turn; takes `bytes` and frees them. */
  add(jobId: string, seq: number, key: string, bytes: Uint8Array): void {
    const job = this.#follow(jobId)
    const next = job.digest.keys.length
    if (job.stopped || seq < next || job.waiting.has(seq)) {
      freeNow(bytes) // not wanted, or a repeat: parts are stored by content at fixed places
      return
    }
    if (seq > next) {
      if (this.#waitingBytes + bytes.length > this.#budget) {
        this.#stop(job)
        freeNow(bytes)
        return
      }
      job.waiting.set(seq, { key, bytes })
      this.#waitingBytes += bytes.length
      return
    }
    job.digest.add(key, bytes)
    freeNow(bytes)
    for (;;) {
      const turn = job.waiting.get(job.digest.keys.length)
      if (!turn) return
      job.waiting.delete(job.digest.keys.length)
      this.#waitingBytes -= turn.bytes.length
      job.digest.add(turn.key, turn.bytes)
      freeNow(turn.bytes)
    }
  }

  /** What was hashed of the job's output, forgotten here (the join goes on from it). */
  take(jobId: string): RunningDigest | undefined {
    const job = this.#jobs.get(jobId)
    if (!job) return undefined
    this.drop(jobId)
    return job.digest
  }

  /** Forgets the job (ended, or its join took the digest). */
  drop(jobId: string): void {
    const job = this.#jobs.get(jobId)
    if (!job) return
    this.#stop(job)
    this.#jobs.delete(jobId)
  }

  #follow(jobId: string): Followed {
    let job = this.#jobs.get(jobId)
    if (!job) {
      job = { digest: new RunningDigest(), waiting: new Map(), stopped: false }
      this.#jobs.set(jobId, job)
      if (this.#jobs.size > MAX_JOBS) this.drop(this.#jobs.keys().next().value!)
    }
    return job
  }

  #stop(job: Followed): void {
    job.stopped = true
    for (const { bytes } of job.waiting.values()) {
      this.#waitingBytes -= bytes.length
      freeNow(bytes)
    }
    job.waiting.clear()
  }
}
