/** What a client stores and runs now, for quotas. */
export interface ClientUsage {
  /** Bytes of its files (as uploaded; shared chunks count for each file). */
  bytes: number
  files: number
  /** Jobs queued or running. */
  activeJobs: number
}

/**
 * A port of one verb, apart from the metadata store's many: the gateway asks it only when a
 * quota is set. The SQL store answers it by summing the client's rows (one index range each).
 */
export interface ClientUsageReader {
  clientUsage(clientId: string): Promise<ClientUsage>
}
