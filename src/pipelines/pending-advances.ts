/**
 * Runs with an advance this process has queued that no worker has started yet, kept when every
 * consumer of the queue is in this process (the embedded queue: its data folder is this
 * process's alone). A job of such a run that ends queues no advance of its own: the waiting one
 * starts after the job's end was committed, so it reads that end. In a DAG of ten parallel items
 * most ends then cost no queue message, delivery, acknowledgement or advance of their own.
 *
 * The set is only ever a subset of what the queue holds: a run enters it before its advance is
 * published, and leaves it when any advance of it starts, before that advance reads anything,
 * so an end committed after that start queues a new advance. After a crash it is empty and the
 * queued advances are still in the queue. With a queue that other processes consume (NATS,
 * `piper://`), a worker elsewhere may have started an advance this process cannot see: there,
 * every end queues its own.
 */
export class PendingAdvances {
  readonly #runs = new Set<string>()

  /** Whether the run needs an advance queued; if so, it is counted as queued from now on. */
  claim(runId: string): boolean {
    if (this.#runs.has(runId)) return false
    this.#runs.add(runId)
    return true
  }

  /** An advance of the run starts (or could not be queued): later ends need one of their own. */
  release(runId: string): void {
    this.#runs.delete(runId)
  }
}
