/** Files of clients as content-addressed chunks: streaming upload, ranged download, GC. */

export {
  type ChunkAnalysisName,
  chunkAnalyzer,
  measuredHistogram,
  NOT_MEASURED,
} from './chunk-analyzer.ts'
export { ChunkScrubber, type ChunkScrubberOptions, type ScrubResult } from './chunk-scrubber.ts'
export { analyzeChunk } from './chunker.ts'
export { FileError, type FileErrorCode } from './errors.ts'
export { checkFileName, MAX_NAME_BYTES } from './file-name.ts'
export {
  EMPTY_SHA256,
  FileService,
  type FileServiceOptions,
  type PutOptions,
  type StoreChunkOptions,
} from './file-service.ts'
export { GarbageCollector, type GarbageCollectorOptions } from './garbage-collector.ts'
export { Pace } from './pace.ts'
export { RunningDigest } from './running-digest.ts'
export { readChunkVerified, readVerified } from './verified-chunks.ts'
