/** The blob store port and its adapters. Piper keys chunks by their sha256. */
export {
  type Allocate,
  BLOB_KEY,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
  type ReadOptions,
} from './blob-store.ts'
export { BlobError, type BlobErrorCode, checkRange } from './errors.ts'
export { FsBlobStore } from './fs-blob-store.ts'
export { MeteredBlobStore } from './metered-blob-store.ts'
export { readBody } from './read-body.ts'
export { S3BlobStore, type S3BlobStoreOptions, s3OptionsFromUrl } from './s3-blob-store.ts'
export { gather, sharedPut } from './shared-put.ts'
