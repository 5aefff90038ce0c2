/** Resumable uploads (tus 1.0) into Piper's chunk store. */
export { TusError, type TusErrorCode } from './errors.ts'
export {
  type CreateRequest,
  type PatchRequest,
  type TusAnswer,
  TusUploads,
  type TusUploadsOptions,
} from './tus-uploads.ts'
export { CHECKSUM_ALGORITHMS, type ChecksumCheck, checksumCheck } from './upload-checksum.ts'
export { formatUploadMetadata, parseUploadMetadata } from './upload-metadata.ts'
