// A worker thread that runs detection models on TensorFlow.js's WebAssembly backend, each loaded
// once per thread, the first time a request needs it, with weights read from npm packages:
// faces by SSD MobileNet v1 (`@vladmandic/face-api`), people and vehicles by CenterNet on COCO
// (`@vladmandic/human`). Nothing is fetched from the network. Requests arrive with RGB pixels
// (transferred).
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parentPort } from 'node:worker_threads'

interface DetectRequest {
  id: number
  data: Uint8Array
  width: number
  height: number
  labels: string[]
  /** Per label; absent: the label's own default. */
  minScore?: number
  maxResults: number
}

interface Found {
  label: string
  type?: string
  score: number
  box: { x: number; y: number; width: number; height: number }
}

/** COCO classes that are vehicles; their class is the detection's `type`. */
const VEHICLES = new Set([
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
])
/** Scores each model gives a clear find differ: SSD's faces ~0.9, CenterNet's objects ~0.5. */
const DEFAULT_MIN_SCORE: Record<string, number> = { face: 0.5, person: 0.3, vehicle: 0.3 }

const require = createRequire(import.meta.url)
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`))

// Human reads its model files with fetch(), which cannot read file: URLs in Node: they are
// served to it from disk here. Any other URL is refused, so no model is ever downloaded.
globalThis.fetch = async (input: string | URL | Request) => {
  const url = String(input instanceof Request ? input.url : input)
  if (!url.startsWith('file:')) throw new Error(`detection models are read from disk, not ${url}`)
  const bytes = await readFile(new URL(url))
  const type = url.endsWith('.json') ? 'application/json' : 'application/octet-stream'
  return new Response(bytes, { status: 200, headers: { 'content-type': type } })
}

const tfReady = (async () => {
  const tf = require('@tensorflow/tfjs')
  const wasm = require('@tensorflow/tfjs-backend-wasm')
  // Emscripten reads the .wasm file itself when not told to use fetch.
  wasm.setWasmPaths(`${join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')}/`, false)
  await tf.setBackend('wasm')
  await tf.ready()
  return tf
})()

let faceModel:
  | Promise<{
      detect(input: unknown, options: unknown): Promise<unknown[]>
      options(minScore: number, max: number): unknown
    }>
  | undefined
function faces() {
  faceModel ??= (async () => {
    await tfReady
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js')
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(
      join(packageDir('@vladmandic/face-api'), 'model'),
    )
    return {
      detect: (input: unknown, options: unknown) => faceapi.detectAllFaces(input, options),
      options: (minScore: number, max: number) =>
        new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: max }),
    }
  })()
  return faceModel
}

let objectModel:
  | Promise<{
      detect(input: unknown): Promise<{ object: { label: string; score: number; box: number[] }[] }>
    }>
  | undefined
function objects(maxResults: number) {
  objectModel ??= (async () => {
    await tfReady
    // Its package's exports map names no subpath Node accepts: found beside its main file.
    const dist = dirname(require.resolve('@vladmandic/human'))
    const { Human } = require(join(dist, 'human.node-wasm.js'))
    const models = `${pathToFileURL(join(dist, '..', 'models')).href}/`
    const human = new Human({
      backend: 'wasm',
      modelBasePath: models,
      wasmPath: `${join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')}/`,
      face: { enabled: false },
      body: { enabled: false },
      hand: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      filter: { enabled: false },
      object: { enabled: true, minConfidence: 0.2, maxDetected: maxResults },
    })
    await human.load()
    return { detect: (input: unknown) => human.detect(input) }
  })()
  return objectModel
}

async function detect(request: DetectRequest): Promise<Found[]> {
  const tf = await tfReady
  const out: Found[] = []
  const minScore = (label: string) => request.minScore ?? DEFAULT_MIN_SCORE[label]!
  const input = tf.tensor3d(request.data, [request.height, request.width, 3], 'int32')
  try {
    if (request.labels.includes('face')) {
      const model = await faces()
      const found = (await model.detect(
        input,
        model.options(minScore('face'), request.maxResults),
      )) as {
        score: number
        box: { x: number; y: number; width: number; height: number }
      }[]
      for (const face of found) {
        const { x, y, width, height } = face.box
        out.push({ label: 'face', score: face.score, box: { x, y, width, height } })
      }
    }
    const wantPeople = request.labels.includes('person')
    const wantVehicles = request.labels.includes('vehicle')
    if (wantPeople || wantVehicles) {
      const model = await objects(request.maxResults)
      const batch = input.expandDims(0)
      try {
        const result = await model.detect(batch)
        for (const o of result.object) {
          const [x, y, width, height] = o.box as [number, number, number, number]
          const box = { x, y, width, height }
          if (o.label === 'person' && wantPeople && o.score >= minScore('person')) {
            out.push({ label: 'person', score: o.score, box })
          } else if (VEHICLES.has(o.label) && wantVehicles && o.score >= minScore('vehicle')) {
            out.push({ label: 'vehicle', type: o.label, score: o.score, box })
          }
        }
      } finally {
        batch.dispose()
      }
    }
  } finally {
    input.dispose()
  }
  return out.sort((a, b) => b.score - a.score).slice(0, request.maxResults)
}

parentPort!.on('message', async (request: DetectRequest) => {
  try {
    parentPort!.postMessage({ id: request.id, detections: await detect(request) })
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: (error as Error).message })
  }
})
