/** What a client stores and runs now, for quotas. */
export interface ClientUsage {
  /** Bytes of its files (as uploaded; shared chunks count for each file). */
  bytes: number
  files: number
  /** Jobs queued or running. */
  activeJobs: number
}

/**
 * A port of two verbs, apart from the metadata store's many: the gateway asks it only when a
 * quota or a load-shedding bound is set. The SQL store answers it by summing the client's rows (one index range each).
 */
export interface ClientUsageReader {
  clientUsage(clientId: string): Promise<ClientUsage>
  /** Jobs queued and not yet running, of every client: the work waiting (load shedding). */
  queuedJobs(): Promise<number>
}
