/** Images: decoding within limits, resizing, encoding, detection, redaction, hashes, stats. */

export { bandProbes, bandsOf, hammingDistance, popcount32 } from '../meta/index.ts'
export {
  DETECTIONS_CONTENT_TYPE,
  DETECTIONS_SUFFIX,
  type DetectionsFile,
  parseDetections,
} from './detections-file.ts'
export {
  DETECT_SIDE,
  DETECTABLE,
  type Detection,
  type DetectOptions,
  Detector,
} from './detector.ts'
export { type ClusterMember, duplicateClusters } from './duplicate-clusters.ts'
export {
  ENCODE_PARAMS,
  type EncodeOptions,
  encode,
  FORMAT_PARAM,
  OUTPUT_FORMATS,
  type OutputFormat,
  outputFormatFor,
  withExtension,
} from './encode.ts'
export { ImageError, type ImageErrorCode, imageErrorOf } from './errors.ts'
export { type ImageKit, readImage } from './image-kit.ts'
export {
  checkOutputSize,
  type ImageInfo,
  ImageSource,
  type RawImage,
  rawPipeline,
} from './image-source.ts'
export { type ExifSummary, type ImageStats, imageStats } from './image-stats.ts'
export { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './limits.ts'
export {
  asksForVariant,
  OnDemandVariants,
  parseVariantQuery,
  VARIANT_QUERY,
  VariantError,
  type VariantRequest,
  variantName,
} from './on-demand-variants.ts'
export { dhashOf, type PerceptualHashes, perceptualHashes, phashOf } from './perceptual-hash.ts'
export { REDACT_METHODS, type RedactMethod, type Region, redact } from './redact.ts'
export {
  FITS,
  GRAVITIES,
  RESIZE_PARAMS,
  type ResizeSpec,
  resize,
  resizedSize,
  scaleNeeded,
} from './resize.ts'
export { Slots } from './slots.ts'
