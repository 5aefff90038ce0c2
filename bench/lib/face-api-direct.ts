/**
 * The detection peer: face-api called directly, on the same TensorFlow.js WebAssembly backend
 * and model as `image.detect`, images decoded by sharp, one after another on the main thread.
 * Prints `{loadMs, detectMs, faces}` as JSON (the model load is timed apart). Args: FILE…
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import sharp from 'sharp'

const require = createRequire(import.meta.url)
const began = performance.now()
const tf = require('@tensorflow/tfjs')
const wasm = require('@tensorflow/tfjs-backend-wasm')
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js')
wasm.setWasmPaths(
  `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`,
  false,
)
await tf.setBackend('wasm')
await tf.ready()
await faceapi.nets.ssdMobilenetv1.loadFromDisk(
  join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'),
)
const loadMs = performance.now() - began
const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 })
const start = performance.now()
let faces = 0
for (const file of process.argv.slice(2)) {
  const { data, info } = await sharp(await readFile(file), { autoOrient: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const input = tf.tensor3d(data, [info.height, info.width, 3], 'int32')
  faces += (await faceapi.detectAllFaces(input, options)).length
  input.dispose()
}
console.log(JSON.stringify({ loadMs, detectMs: performance.now() - start, faces }))
