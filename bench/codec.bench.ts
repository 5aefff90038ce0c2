/**
 * `npm run bench -- codec`: Piper's Huffman codec against zlib's Huffman-only mode (C),
 * `pigz -H` (C, parallel) and pako (pure JavaScript), in one run, on the corpus plus generated
 * text, real source code and a real binary. Prints sizes, speeds, the floor under the decode
 * columns (first writes to fresh memory, one thread and two) and the target ratios.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { constants, gunzipSync, gzipSync } from 'node:zlib'
import * as pako from 'pako'
import { CodecPool, compress, decompress, entropyBits, histogram } from '../src/codec/index.ts'
import { binary, corpusFiles, generatedText, type Input, sourceCode } from './lib/inputs.ts'
import { bestOf, mbPerSecond, printTable } from './lib/measure.ts'

const CHUNK = 1 << 20
/**
 * Runs per measurement: a small file takes a few milliseconds, where one scheduler hiccup on
 * a shared machine swings a single run by 2x, so small inputs get more runs (best of 3 to 20,
 * about 64 MiB of work per measurement).
 */
const runsFor = (bytes: Uint8Array) =>
  Math.min(20, Math.max(3, Math.ceil((64 << 20) / bytes.length)))
const cores = availableParallelism()

/** Tools give their output as pieces: a stream's consumer writes them as they come, so joining them is not part of the time measured. */
interface Tool {
  name: string
  compress(input: Uint8Array): Promise<Uint8Array[]>
  decompress(gz: Uint8Array): Promise<Uint8Array[]>
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

function pipe(command: string, args: string[], input: Uint8Array): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.once('error', reject)
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}`)),
    )
    child.stdin.end(input)
  })
}

const pool = new CodecPool(cores)
const tools: Tool[] = [
  {
    name: 'piper 1 thread',
    compress: (input) => collect(compress([input], { chunkSize: CHUNK })),
    decompress: (gz) => collect(decompress([gz])),
  },
  {
    name: `piper ${cores} threads`,
    compress: (input) => collect(compress([input], { chunkSize: CHUNK, pool })),
    decompress: (gz) => collect(decompress([gz], { pool })),
  },
  {
    name: 'zlib -H (C)',
    compress: async (input) => [gzipSync(input, { strategy: constants.Z_HUFFMAN_ONLY })],
    decompress: async (gz) => [gunzipSync(gz)],
  },
  {
    name: 'pako -H (JS)',
    compress: async (input) => [pako.gzip(input, { strategy: 2 })],
    decompress: async (gz) => [pako.ungzip(gz)],
  },
]
const hasPigz = spawnSync('pigz', ['--version']).status === 0
if (hasPigz) {
  tools.push({
    name: `pigz -H -p${cores}`,
    compress: (input) => pipe('pigz', ['-H', '-p', String(cores), '-c'], input),
    decompress: (gz) => pipe('pigz', ['-d', '-c'], gz),
  })
} else {
  console.log('pigz is not installed (apt-get install pigz); its columns are left out\n')
}

const inputs: Input[] = [
  ...corpusFiles(),
  { name: 'generated text', bytes: generatedText(16 << 20) },
  { name: 'source code', bytes: sourceCode(12 << 20) },
  { name: 'node binary', bytes: binary(30 << 20) },
]

function percent(part: number, whole: number): string {
  return ((100 * part) / whole).toFixed(2)
}

function entropyBytes(bytes: Uint8Array): number {
  let bits = 0
  for (let i = 0; i < bytes.length; i += CHUNK)
    bits += entropyBits(histogram(bytes.subarray(i, i + CHUNK)))
  return Math.ceil(bits / 8)
}

interface Result {
  size: number
  compressMs: number
  decompressMs: number
}
const results = new Map<string, Map<string, Result>>()
for (const input of inputs) {
  const perTool = new Map<string, Result>()
  for (const tool of tools) {
    const runs = runsFor(input.bytes)
    const packed = await bestOf(runs, () => tool.compress(input.bytes))
    const gz = Buffer.concat(packed.result)
    const unpacked = await bestOf(runs, () => tool.decompress(gz))
    if (!Buffer.concat(unpacked.result).equals(input.bytes))
      throw new Error(`${tool.name} did not round-trip ${input.name}`)
    perTool.set(tool.name, {
      size: gz.length,
      compressMs: packed.ms,
      decompressMs: unpacked.ms,
    })
  }
  results.set(input.name, perTool)
}
await pool.close()

const total = inputs.reduce((sum, input) => sum + input.bytes.length, 0)
console.log(
  `${inputs.length} inputs, ${(total / 2 ** 20).toFixed(1)} MiB, ${cores} cores, best of 3-20 runs (more for smaller inputs)\n`,
)
console.log('compressed size, % of input (entropy: order-0 bound over 1 MiB chunks)')
printTable([
  ['input', 'MiB', 'entropy', ...tools.map((t) => t.name)],
  ...inputs.map((input) => [
    input.name,
    (input.bytes.length / 2 ** 20).toFixed(1),
    percent(entropyBytes(input.bytes), input.bytes.length),
    ...tools.map((t) => percent(results.get(input.name)!.get(t.name)!.size, input.bytes.length)),
  ]),
])
for (const [what, key] of [
  ['compress', 'compressMs'],
  ['decompress', 'decompressMs'],
] as const) {
  console.log(`\n${what}, MB/s`)
  printTable([
    ['input', ...tools.map((t) => t.name)],
    ...inputs.map((input) => [
      input.name,
      ...tools.map((t) =>
        mbPerSecond(input.bytes.length, results.get(input.name)!.get(t.name)![key]),
      ),
    ]),
    ['all', ...tools.map((t) => mbPerSecond(total, sum(t.name, key)))],
  ])
}

function sum(tool: string, key: keyof Result): number {
  return inputs.reduce((acc, input) => acc + results.get(input.name)!.get(tool)![key], 0)
}
const one = tools[0]!.name
const all = tools[1]!.name
const zlib = 'zlib -H (C)'
const ratio = (a: number, b: number) => a / b
const perFile = (f: (input: Input) => number) => Math.min(...inputs.map(f))
const r = (input: Input, tool: string) => results.get(input.name)!.get(tool)!

// The floor under every decode column: outputs are kept, so each is written to memory the
// process has not used before, which some VMs back only on first touch (docs/architecture.md).
const FRESH = fileURLToPath(new URL('./lib/fresh-memory.ts', import.meta.url))
const freshRate = (threads: number) =>
  Number(execFileSync(process.execPath, [FRESH, String(threads), '64'], { encoding: 'utf8' }))
const [freshOne, freshTwo] = [freshRate(1), freshRate(2)]
console.log('\nfloor: first writes to fresh memory (64 MiB, a process each), MB/s')
printTable([
  ['threads', 'MB/s', 'vs 1 thread'],
  ['1', freshOne, 1],
  ['2', freshTwo, freshTwo / freshOne],
])

console.log('\ntargets (ratios measured in this run)')
const rows: [string, number, number][] = [
  [
    'size vs zlib -H, worst file (≤ 1)',
    Math.max(...inputs.map((i) => r(i, one).size / r(i, zlib).size)),
    1,
  ],
  ['size vs zlib -H, all (< 1)', sum(one, 'size') / sum(zlib, 'size'), 1],
  [
    '1-thread compress vs zlib -H (≥ 1.5)',
    ratio(sum(zlib, 'compressMs'), sum(one, 'compressMs')),
    1.5,
  ],
  [
    '1-thread decompress vs zlib gunzip, worst file (≥ 1)',
    perFile((i) => r(i, zlib).decompressMs / r(i, one).decompressMs),
    1,
  ],
  [
    'all-core decompress vs 1 thread (≥ 1.8)',
    ratio(sum(one, 'decompressMs'), sum(all, 'decompressMs')),
    1.8,
  ],
]
if (hasPigz)
  rows.push([
    `all-core compress vs pigz -H -p${cores} (≥ 1.5)`,
    ratio(sum(`pigz -H -p${cores}`, 'compressMs'), sum(all, 'compressMs')),
    1.5,
  ])
printTable([
  ['target', 'measured', 'status'],
  ...rows.map(([name, value, goal]) => [
    name,
    value.toFixed(3),
    (name.includes('size') ? value <= goal : value >= goal) ? 'met' : 'NOT MET',
  ]),
])
