import {
  DETECT_SIDE,
  DETECTABLE,
  DETECTIONS_CONTENT_TYPE,
  DETECTIONS_SUFFIX,
  type DetectionsFile,
} from '../../images/index.ts'
import { openImage } from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/** The model behind `image.detect`, named in every detections file. */
const MODEL = 'face-api ssd-mobilenet-v1 (tfjs-wasm)'

/**
 * `image.detect`: faces in an image, as boxes with scores. The result counts them by label and
 * lists them; the output file (`NAME.detections.json`) names the image by name and sha256, so
 * a following `image.redact` step can hide what was found. The model runs on the detector's
 * threads, loaded once per thread.
 */
export const imageDetect: JobKind = {
  name: 'image.detect',
  summary: 'faces in an image as boxes with scores (a detections file and the counts)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      labels: { type: 'array', items: { enum: [...DETECTABLE] }, minItems: 1, uniqueItems: true },
      minScore: { type: 'number', minimum: 0.05, maximum: 1 },
      maxResults: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  },
  inputs: 'one',
  output: 'file',
  contentType: DETECTIONS_CONTENT_TYPE,
  defaultOutput: (input) => `${input}${DETECTIONS_SUFFIX}`,
  plan: async () => 'whole',

  async whole(job, ctx) {
    const { file, image } = await openImage(job, ctx)
    const { width, height } = image.info
    // Decoded no larger than the detector looks at (a 50 MP photo is then ~3 MB of pixels, not
    // 150); boxes are scaled back to the image as displayed.
    const raw = await image.raw(DETECT_SIDE / Math.max(width, height))
    const sx = width / raw.width
    const sy = height / raw.height
    const found = await ctx.images.detector.detect(raw, {
      minScore: (job.params.minScore as number | undefined) ?? 0.5,
      maxResults: (job.params.maxResults as number | undefined) ?? 100,
    })
    const detections = found.map((d) => ({
      ...d,
      box: {
        x: Math.round(d.box.x * sx),
        y: Math.round(d.box.y * sy),
        width: Math.min(width, Math.round(d.box.width * sx)),
        height: Math.min(height, Math.round(d.box.height * sy)),
      },
    }))
    const counts: Record<string, number> = {}
    for (const label of (job.params.labels as string[] | undefined) ?? DETECTABLE) counts[label] = 0
    for (const d of detections) counts[d.label] = (counts[d.label] ?? 0) + 1
    const doc: DetectionsFile = {
      image: file.name,
      sha256: file.sha256,
      width,
      height,
      model: MODEL,
      detections: detections.map((d) => ({ ...d, score: Math.round(d.score * 1e4) / 1e4 })),
    }
    const output = await ctx.files.put(
      job.clientId,
      job.output,
      [Buffer.from(JSON.stringify(doc))],
      {
        contentType: DETECTIONS_CONTENT_TYPE,
      },
    )
    return { outputs: [output], result: { counts, detections: doc.detections } }
  },
}
