import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { mixed } from '../codec/data.ts'
import { PIPER_BIN, runPiper } from '../helpers/cli.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { throughFifo } from '../helpers/fifo.ts'

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'piper-codec-cli-'))
}

test('compress FILE writes FILE.gz that gzip restores, keeping FILE; decompress restores it', async () => {
  const dir = workspace()
  const input = mixed(300_000, 31)
  writeFileSync(join(dir, 'data.bin'), input)
  const compressed = await runPiper([
    'compress',
    join(dir, 'data.bin'),
    '--chunk-size',
    '64K',
    '--threads',
    '2',
  ])
  assert.equal(compressed.code, 0, compressed.stderr)
  assert.ok(existsSync(join(dir, 'data.bin')), 'the input is kept')
  const gz = readFileSync(join(dir, 'data.bin.gz'))
  assert.ok((await pipeThrough('gzip', ['-dc'], gz)).stdout.equals(input))

  const restored = await runPiper([
    'decompress',
    join(dir, 'data.bin.gz'),
    '-o',
    join(dir, 'back.bin'),
  ])
  assert.equal(restored.code, 0, restored.stderr)
  assert.ok(readFileSync(join(dir, 'back.bin')).equals(input))
})

test('stdin to stdout both ways, on one thread', async () => {
  const input = mixed(50_000, 32)
  const gz = await pipeThrough(process.execPath, [PIPER_BIN, 'compress', '--threads', '1'], input)
  assert.equal(gz.code, 0, gz.stderr)
  const back = await pipeThrough(process.execPath, [PIPER_BIN, 'decompress', '-'], gz.stdout)
  assert.equal(back.code, 0, back.stderr)
  assert.ok(back.stdout.equals(input))
})

test('decompress reads gzip -9 output from other tools', async () => {
  const dir = workspace()
  const input = mixed(100_000, 33)
  writeFileSync(join(dir, 'x.gz'), gzipSync(input, { level: 9 }))
  const { code, stderr } = await runPiper(['decompress', join(dir, 'x.gz')])
  assert.equal(code, 0, stderr)
  assert.ok(readFileSync(join(dir, 'x')).equals(input))
})

test('refuses to overwrite without --force, and overwrites with it', async () => {
  const dir = workspace()
  writeFileSync(join(dir, 'a.txt'), 'hello')
  writeFileSync(join(dir, 'a.txt.gz'), 'precious')
  const refused = await runPiper(['compress', join(dir, 'a.txt')])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /a\.txt\.gz already exists; use --force to overwrite/)
  assert.equal(readFileSync(join(dir, 'a.txt.gz'), 'utf8'), 'precious')
  const forced = await runPiper(['compress', '--force', join(dir, 'a.txt')])
  assert.equal(forced.code, 0, forced.stderr)
  assert.equal(
    (await pipeThrough('gzip', ['-dc'], readFileSync(join(dir, 'a.txt.gz')))).stdout.toString(),
    'hello',
  )
})

test('corrupt input fails with the codec error and leaves no output file behind', async () => {
  const dir = workspace()
  const gz = Buffer.from(gzipSync(mixed(100_000, 34)))
  writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 100))
  const { code, stderr } = await runPiper(['decompress', join(dir, 'cut.gz')])
  assert.equal(code, 1)
  assert.match(stderr, /cut\.gz: compressed data ends early/)
  // The byte named is where the input ran out.
  assert.match(stderr, new RegExp(`byte ${gz.length - 100}\\b`))
  assert.deepEqual(readdirSync(dir), ['cut.gz'])
})

test('not gzip, unknown suffix, missing file and bad flags each get a message', async () => {
  const dir = workspace()
  writeFileSync(join(dir, 'plain.gz'), 'just text')
  writeFileSync(join(dir, 'notes.txt'), 'x')
  const cases: [string[], number, RegExp][] = [
    [['decompress', join(dir, 'plain.gz')], 1, /not gzip data \(member 0, byte 0\)/],
    [['decompress', join(dir, 'notes.txt')], 1, /unknown suffix/],
    [['compress', join(dir, 'nosuch')], 1, /nosuch: no such file/],
    [['compress', '--threads', '0', join(dir, 'notes.txt')], 2, /--threads must be a whole number/],
    [
      ['compress', '--chunk-size', 'huge', join(dir, 'notes.txt')],
      2,
      /--chunk-size must be a size/,
    ],
    [['decompress', '--max-output', '1K', '-'], 1, /not gzip data|ends early/],
  ]
  for (const [args, expected, message] of cases) {
    const { code, stderr } = await runPiper(args)
    assert.equal(code, expected, `${args.join(' ')}: ${stderr}`)
    assert.match(stderr, message, args.join(' '))
  }
})

test('--max-output stops a zip bomb', async () => {
  const bomb = gzipSync(new Uint8Array(32 << 20))
  const result = await pipeThrough(
    process.execPath,
    [PIPER_BIN, 'decompress', '--max-output', '1M'],
    bomb,
  )
  assert.equal(result.code, 1)
  assert.match(result.stderr, /output exceeds the limit of 1048576 bytes/)
})

test('-o naming a pipe (or a device) writes into it instead of replacing it with a file', async () => {
  const dir = workspace()
  const input = mixed(200_000, 32)
  writeFileSync(join(dir, 'data.bin'), input)
  // No --force: a pipe is not a file that would be overwritten.
  const gz = await throughFifo(join(dir, 'out.fifo'), async (fifo) => {
    const compressed = await runPiper(['compress', join(dir, 'data.bin'), '-o', fifo])
    assert.equal(compressed.code, 0, compressed.stderr)
  })
  assert.ok((await pipeThrough('gzip', ['-dc'], gz)).stdout.equals(input))
  assert.deepEqual(readdirSync(dir).sort(), ['data.bin', 'out.fifo'], 'no temporary file left')
})
