/**
 * `npm run bench -- cli`: compression and decompression as users run them — whole processes,
 * file to file, on one input of BENCH_CLI_BYTES (512 MiB) built from ../shared/corpus, generated
 * text, source code and binaries. Tools, alternating round by round (BENCH_ROUNDS, 3), medians:
 * `piper compress` (all threads, one thread), `pigz -H -p2` (Huffman only, 2 threads), `pigz -H
 * -p1` (how far a tool known to scale gains from the second core here: the floor), `gzip -1`,
 * zlib's Huffman-only mode through a one-line Node script; then `piper decompress` (all, one
 * thread) of Piper's file, `pigz -d` and `gzip -d` of pigz's, and `cat` of the original into a
 * file (the floor: writing the output alone). Each row prints wall time, MB/s,
 * CPU seconds (user + system, so a serial stage shows as cores left idle), cores used, output
 * size, and the ratios to the peers the targets of issue 24 name (with the decompressors' walls
 * printed round by round).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { YOUNG_GENERATION } from '../test/helpers/cli.ts'
import { binary, corpusFiles, generatedText, sourceCode } from './lib/inputs.ts'
import { median, printTable } from './lib/measure.ts'

const SIZE = Number(process.env.BENCH_CLI_BYTES ?? 512 * 2 ** 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
// As users run it: the `piper` command's entry (which turns on Node's compile cache, so the
// codec threads do not strip TypeScript at every start) with the V8 flag its shebang passes.
const PIPER = `${YOUNG_GENERATION} ${fileURLToPath(new URL('../bin/piper.js', import.meta.url))}`
const dir = mkdtempSync(join(tmpdir(), 'piper-bench-cli-'))
const input = join(dir, 'input.bin')

/** About a quarter each: real corpus files (repeated), source code, binaries, generated text. */
function buildInput(): void {
  const quarter = Math.floor(SIZE / 4)
  const corpus = corpusFiles().map((f) => f.bytes)
  const parts: Uint8Array[] = []
  let corpusBytes = 0
  while (corpus.length > 0 && corpusBytes < quarter) {
    for (const bytes of corpus) {
      parts.push(bytes)
      corpusBytes += bytes.length
    }
  }
  // Source and binaries, as much of each as this machine has up to a quarter; text fills the rest.
  const source = sourceCode(quarter)
  const binaries = binary(quarter)
  const text = generatedText(Math.max(0, SIZE - corpusBytes - source.length - binaries.length))
  parts.push(source, binaries, text)
  writeFileSync(input, Buffer.concat(parts))
}

interface Run {
  wall: number
  cpu: number
}

/** Runs a shell command under GNU time: wall and CPU seconds. `output` is removed first. */
function timed(command: string, output: string): Run {
  // Every tool writes a new file, as a user's first run does: replacing the 512 MiB file the
  // round before left (truncated by `>`, renamed over by `--force`) cost this machine's kernel
  // 0.3-1.6 s of system time inside the timed run, varying run to run.
  rmSync(output, { force: true })
  // Each run starts with nothing left to write back: the 512 MiB the run before wrote is not
  // flushed by the kernel during this one (with two cores, the flusher takes one of them).
  spawnSync('sync')
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'sh', '-c', command], {
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr.slice(-500)}`)
  const [wall, user, system] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number)
  return { wall: wall!, cpu: user! + system! }
}

const node = process.execPath
const zlibHuffman = `${node} -e "const z=require('zlib'),fs=require('fs');fs.createReadStream(process.argv[1]).pipe(z.createGzip({strategy:z.constants.Z_HUFFMAN_ONLY})).pipe(fs.createWriteStream(process.argv[2]))"`

const compressors: [string, (out: string) => string][] = [
  ['piper compress (all threads)', (out) => `${node} ${PIPER} compress ${input} -o ${out} --force`],
  [
    'piper compress --threads 1',
    (out) => `${node} ${PIPER} compress ${input} -o ${out} --force --threads 1`,
  ],
  ['pigz -H -p2', (out) => `pigz -H -p2 -c ${input} > ${out}`],
  // The machine's own scaling from one core to two, with a tool known to scale: the floor.
  ['pigz -H -p1', (out) => `pigz -H -p1 -c ${input} > ${out}`],
  ['gzip -1', (out) => `gzip -1 -c ${input} > ${out}`],
  ['zlib Huffman-only (node)', (out) => `${zlibHuffman} ${input} ${out}`],
]

buildInput()
const inputSize = statSync(input).size
console.log(
  `input: ${(inputSize / 2 ** 20).toFixed(0)} MiB (corpus, source, binaries, generated text)`,
)
const results = new Map<string, { runs: Run[]; size: number }>()
const out = (name: string) => join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.gz`)
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, command] of compressors) {
    const r = results.get(name) ?? { runs: [], size: 0 }
    r.runs.push(timed(command(out(name)), out(name)))
    r.size = statSync(out(name)).size
    results.set(name, r)
  }
}
const piperGz = out('piper compress (all threads)')
const pigzGz = out('pigz -H -p2')
const decompressors: [string, (out: string) => string][] = [
  [
    'piper decompress (all threads) of piper',
    (out) => `${node} ${PIPER} decompress ${piperGz} -o ${out} --force`,
  ],
  [
    'piper decompress --threads 1 of piper',
    (out) => `${node} ${PIPER} decompress ${piperGz} -o ${out} --force --threads 1`,
  ],
  ['pigz -d of piper', (out) => `pigz -d -c ${piperGz} > ${out}`],
  ['piper decompress of pigz', (out) => `${node} ${PIPER} decompress ${pigzGz} -o ${out} --force`],
  ['pigz -d of pigz', (out) => `pigz -d -c ${pigzGz} > ${out}`],
  ['gzip -d of pigz', (out) => `gzip -d -c ${pigzGz} > ${out}`],
  // The floor for every decompressor here: writing the 512 MiB they write, decoding nothing.
  ['cat of the decompressed bytes (writing alone)', (out) => `cat ${input} > ${out}`],
]
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, command] of decompressors) {
    const r = results.get(name) ?? { runs: [], size: 0 }
    const decompressed = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.out`)
    r.runs.push(timed(command(decompressed), decompressed))
    results.set(name, r)
  }
  console.log(
    `round ${round + 1}: ${decompressors.map(([name]) => `${results.get(name)!.runs.at(-1)!.wall.toFixed(2)}`).join(' ')} s (${decompressors.map(([name]) => name.split(' of ')[0]).join(', ')})`,
  )
}
const wall = (name: string) => median(results.get(name)!.runs.map((r) => r.wall))
const rows: (string | number)[][] = [
  ['tool', 'wall s', 'MB/s', 'CPU s', 'cores', 'output ÷ input', 'vs'],
]
/** Each row's speed as a ratio of these peers' (the peer's wall time ÷ the row's). */
const peers: Record<string, string[]> = {
  'piper compress (all threads)': ['pigz -H -p2', 'piper compress --threads 1'],
  'piper compress --threads 1': ['zlib Huffman-only (node)'],
  'pigz -H -p2': ['pigz -H -p1'],
  'piper decompress (all threads) of piper': [
    'pigz -d of piper',
    'piper decompress --threads 1 of piper',
    'cat of the decompressed bytes (writing alone)',
  ],
  'piper decompress of pigz': ['pigz -d of pigz'],
}
for (const [name, r] of results) {
  const w = wall(name)
  const cpu = median(r.runs.map((x) => x.cpu))
  const ratio = (peers[name] ?? [])
    .map((peer) => `${(wall(peer) / w).toFixed(2)}× ${peer}`)
    .join('; ')
  rows.push([name, w, inputSize / 1e6 / w, cpu, cpu / w, r.size ? r.size / inputSize : '', ratio])
}
printTable(rows)

/**
 * All threads ÷ one thread, round by round, and the most the machine's cores allow: a one-thread
 * run already uses more than one core (the kernel writes its output on another thread), so the
 * same work on every core can be at most cores ÷ (that run's cores) times faster.
 */
function scaling(all: string, one: string): void {
  const byRound = results
    .get(all)!
    .runs.map((r, i) => (results.get(one)!.runs[i]!.wall / r.wall).toFixed(2))
  const oneRuns = results.get(one)!.runs
  const used = median(oneRuns.map((r) => r.cpu)) / median(oneRuns.map((r) => r.wall))
  const cores = availableParallelism()
  console.log(
    `${all} ÷ ${one}, by round: ${byRound.join(' ')}; the most ${cores} cores allow: ${cores} ÷ ${used.toFixed(2)} cores (the one-thread run's) = ${(cores / used).toFixed(2)}`,
  )
}
scaling('piper compress (all threads)', 'piper compress --threads 1')
scaling('piper decompress (all threads) of piper', 'piper decompress --threads 1 of piper')
rmSync(dir, { recursive: true, force: true })
