// A worker thread that runs face detection: TensorFlow.js on its WebAssembly backend with the
// SSD MobileNet v1 weights shipped inside `@vladmandic/face-api`, loaded once per thread from
// the package folder (nothing is fetched). Requests arrive with RGB pixels (transferred).
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { parentPort } from 'node:worker_threads'

interface DetectRequest {
  id: number
  data: Uint8Array
  width: number
  height: number
  minScore: number
  maxResults: number
}

const require = createRequire(import.meta.url)
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`))

async function load() {
  const tf = require('@tensorflow/tfjs')
  const wasm = require('@tensorflow/tfjs-backend-wasm')
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js')
  // Emscripten reads the .wasm file itself when not told to use fetch (which cannot read paths).
  wasm.setWasmPaths(`${join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')}/`, false)
  await tf.setBackend('wasm')
  await tf.ready()
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(join(packageDir('@vladmandic/face-api'), 'model'))
  return { tf, faceapi }
}

const loaded = load()
loaded.catch(() => {}) // reported with the first request

parentPort!.on('message', async (request: DetectRequest) => {
  try {
    const { tf, faceapi } = await loaded
    const input = tf.tensor3d(request.data, [request.height, request.width, 3], 'int32')
    try {
      const options = new faceapi.SsdMobilenetv1Options({
        minConfidence: request.minScore,
        maxResults: request.maxResults,
      })
      const found = await faceapi.detectAllFaces(input, options)
      const detections = found.map(
        (face: {
          score: number
          box: { x: number; y: number; width: number; height: number }
        }) => ({
          label: 'face',
          score: face.score,
          box: { x: face.box.x, y: face.box.y, width: face.box.width, height: face.box.height },
        }),
      )
      parentPort!.postMessage({ id: request.id, detections })
    } finally {
      input.dispose()
    }
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: (error as Error).message })
  }
})
