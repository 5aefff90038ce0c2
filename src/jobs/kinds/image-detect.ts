import {
  DETECT_SIDE,
  DETECTABLE,
  DETECTIONS_CONTENT_TYPE,
  DETECTIONS_SUFFIX,
  type DetectionsFile,
} from '../../images/index.ts'
import { withImage } from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/** The models behind `image.detect`, named in every detections file. */
const MODEL =
  'faces: face-api ssd-mobilenet-v1; people, vehicles: human centernet (coco); tfjs-wasm'

/**
 * `image.detect`: faces, people and vehicles (with their type: car, bus, truck, …) in an image,
 * as boxes with scores; `params.labels` picks which (each model costs its own time). The result
 * counts them by label and lists them; the output file (`NAME.detections.json`) names the image by name and sha256, so
 * a following `image.redact` step can hide what was found. The model runs on the detector's
 * threads, loaded once per thread.
 */
export const imageDetect: JobKind = {
  name: 'image.detect',
  summary: 'faces, people and vehicles (with type) as boxes with scores, and their counts',
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
    return withImage(job, ctx, async ({ file, image }) => {
      const { width, height } = image.info
      // Decoded no larger than the detector looks at (a 50 MP photo is then ~3 MB of pixels, not
      // 150); boxes are scaled back to the image as displayed.
      const raw = await image.raw(DETECT_SIDE / Math.max(width, height))
      const sx = width / raw.width
      const sy = height / raw.height
      const labels = (job.params.labels as string[] | undefined) ?? DETECTABLE
      const found = await ctx.images.detector.detect(raw, {
        labels,
        minScore: job.params.minScore as number | undefined,
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
      // By label, and vehicles also by type: {face: 3, person: 2, vehicle: 1, "vehicle.bus": 1}.
      const counts: Record<string, number> = {}
      for (const label of labels) counts[label] = 0
      for (const d of detections) {
        counts[d.label] = (counts[d.label] ?? 0) + 1
        if (d.type) counts[`${d.label}.${d.type}`] = (counts[`${d.label}.${d.type}`] ?? 0) + 1
      }
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
    })
  },
}
