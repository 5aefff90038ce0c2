import type { FileService } from '../files/index.ts'
import type { ClientUsageReader, FileRecord } from '../meta/index.ts'
import { HttpError } from './errors.ts'

/** Per-client limits; 0 means none. */
export interface QuotaLimits {
  /** Bytes of files a client may store (as uploaded). */
  bytes: number
  files: number
  /** Jobs a client may have queued or running at once. */
  jobs: number
}

export const NO_QUOTAS: QuotaLimits = { bytes: 0, files: 0, jobs: 0 }

/**
 * Checks a client's usage against its quotas before an upload or a job, and gives an upload the
 * most bytes it may take. Usage is read when a quota is set (a query of the client's rows) and
 * not held between requests, so uploads running at once for one client can pass it together by
 * up to what they carry (at most `uploadsPerClient` of them).
 */
export class Quotas {
  readonly #usage: ClientUsageReader
  readonly #limits: QuotaLimits
  readonly #files: FileService

  constructor(usage: ClientUsageReader, limits: QuotaLimits, files: FileService) {
    this.#usage = usage
    this.#limits = limits
    this.#files = files
  }

  /** The most bytes an upload of `name` may take (undefined: no limit); 413 when none. */
  async uploadLimit(client: string, name: string): Promise<number | undefined> {
    const { bytes, files } = this.#limits
    if (bytes === 0 && files === 0) return undefined
    const usage = await this.#usage.clientUsage(client)
    // Replacing a file frees what it held.
    const replaced = await this.#files.stat(client, name).catch(() => undefined)
    if (files > 0 && !replaced && usage.files >= files) {
      throw exceeded(413, `client ${client} has ${usage.files} files, its quota (quotaFiles)`)
    }
    if (bytes === 0) return undefined
    const room = bytes - usage.bytes + (replaced?.size ?? 0)
    if (room <= 0) {
      throw exceeded(
        413,
        `client ${client} stores ${usage.bytes} bytes, its quota is ${bytes} (quotaBytes)`,
      )
    }
    return room
  }

  /** 429 when the client has its quota of jobs queued or running. */
  async checkJob(client: string): Promise<void> {
    if (this.#limits.jobs === 0) return
    const { activeJobs } = await this.#usage.clientUsage(client)
    if (activeJobs >= this.#limits.jobs) {
      throw exceeded(
        429,
        `client ${client} has ${activeJobs} jobs queued or running, its quota (quotaJobs)`,
      )
    }
  }

  /**
   * Stores an upload within the client's quotas: refused before a byte is read when there is
   * no room, cut off (storing nothing) when it would pass `quotaBytes`.
   */
  async put(
    client: string,
    name: string,
    body: AsyncIterable<Uint8Array>,
    contentType: string,
  ): Promise<FileRecord> {
    const maxBytes = await this.uploadLimit(client, name)
    try {
      return await this.#files.put(client, name, body, { contentType, maxBytes })
    } catch (error) {
      if (maxBytes === undefined || (error as { code?: string }).code !== 'E_UPLOAD_TOO_LARGE') {
        throw error
      }
      throw exceeded(
        413,
        `the upload would take client ${client} past its quota of ${this.#limits.bytes} bytes (quotaBytes); nothing was stored`,
      )
    }
  }
}

function exceeded(status: number, message: string): HttpError {
  return new HttpError(status, 'E_QUOTA', message)
}
