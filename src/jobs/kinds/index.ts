/** Job kinds: one file each; the registry is how the rest of Piper finds them. */
export { compress } from './compress.ts'
export { decompress } from './decompress.ts'
export { extract } from './extract.ts'
export { HASH_ALGORITHMS, hash } from './hash.ts'
export { imageAnalyze } from './image-analyze.ts'
export { imageConvert } from './image-convert.ts'
export { imageDetect } from './image-detect.ts'
export { imageFilter } from './image-filter.ts'
export { imageHash } from './image-hash.ts'
export { imageRedact } from './image-redact.ts'
export { imageResize } from './image-resize.ts'
export { imageStats } from './image-stats.ts'
export { DEFAULT_VARIANTS, imageVariants } from './image-variants.ts'
export {
  type ChunkAnalysisName,
  type JobKind,
  jobInputs,
  type KindContext,
  type KindInputs,
  type KindOutput,
  type PartInput,
  type PartOutput,
  type WholeResult,
} from './job-kind.ts'
export { BUILT_IN_KINDS, KindRegistry } from './registry.ts'
export { tar } from './tar.ts'
