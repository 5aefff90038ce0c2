/** What Piper knows of one stored image file, from `image.hash` and `image.stats` jobs. */
export interface ImageEntry {
  fileId: string
  clientId: string
  format: string
  width: number
  height: number
  bytes: number
  /** 64-bit perceptual hashes, 16 hex digits; absent until hashed. */
  phash?: string
  dhash?: string
  /** `image.stats`' result; absent until measured. */
  stats?: object
}

/** A stored image near another, by pHash. */
export interface ImageMatch {
  name: string
  sha256: string
  phash: string
  distance: number
}

/** One image's hash and identity, for clustering. */
export interface HashedImage {
  name: string
  sha256: string
  size: number
  phash: string
}

/** Image counts and sizes of one time bucket. */
export interface ImageBucket {
  start: number
  images: number
  pixels: number
  bytes: number
  formats: Record<string, number>
}

/** Outputs of finished image jobs of one time bucket. */
export interface ImageOutputBucket {
  start: number
  kind: string
  jobs: number
  outputs: number
  bytesIn: number
  bytesOut: number
}

/**
 * The images port: hashes and statistics of stored images, a pHash index for near-duplicate
 * search, and figures over time. Split from `MetaStore`; the SQL adapters keep it beside files,
 * and an entry goes when its file is deleted or replaced.
 */
/** What one image job wrote: its outputs and the bytes in and out. */
export interface ImageOutputsEntry {
  jobId: string
  clientId: string
  kind: string
  outputs: number
  bytesIn: number
  bytesOut: number
}

export interface ImageStore {
  /** Adds or completes the entry of a file (fields absent are kept); a gone file is ignored. */
  saveImage(entry: ImageEntry): Promise<void>
  /** The entry of a file, if it was hashed or measured. */
  image(fileId: string): Promise<ImageEntry | undefined>
  /** Every hashed image of the client within `distance` bits of `phash` (exact, indexed). */
  nearImages(clientId: string, phash: string, distance: number): Promise<ImageMatch[]>
  /** The client's hashed images, by name, a page at a time. */
  hashedImages(clientId: string, options: { after?: string; limit: number }): Promise<HashedImage[]>
  /** Records what an image job wrote, once per job however often it runs. */
  saveImageOutputs(entry: ImageOutputsEntry): Promise<void>
  imageBuckets(
    clientId: string,
    range: { from: number; to: number; bucketMs: number },
  ): Promise<{
    images: ImageBucket[]
    outputs: ImageOutputBucket[]
    /** Bytes of image files in the range that repeat another's content (kept once). */
    dedupBytes: number
  }>
}
