/**
 * `npm run bench -- storage`:
 *
 * 1. A file of BENCH_STORAGE_BYTES (1 GiB) of random bytes uploaded and downloaded with curl
 *    through `piper up` on `fs`, on `nodes` replicas:2 (3 node processes) and on `nodes` ec:4+2
 *    (6 node processes), all on loopback and this one disk: MB/s, each as a ratio of `fs`, and
 *    the gateway's peak RSS. Medians of BENCH_ROUNDS (3), alternating.
 * 2. Erasure coding 4+2 over 1 MiB shards, in-process (the code's own figure): encode and
 *    rebuild two lost shards, MB/s of data per core, Piper's WebAssembly SIMD kernel and plain
 *    JavaScript, against `@ronomon/reed-solomon` (native C) when it is installed
 *    (`npm i --no-save @ronomon/reed-solomon` builds it).
 * 3. Rebalance: 3 nodes with replicas:2 holding BENCH_REBALANCE_BLOBS (500) chunks of 256 KiB,
 *    a 4th node added, `repairAll`: bytes copied against the least that must move (the copies
 *    whose node is now the new one), and the time it took.
 * 4. S3 on Swift (scripts/services/swift-s3.sh): the same file through Piper (`--blobs s3://…`)
 *    against the AWS SDK's own multipart upload and download of the same bytes, in this process;
 *    and the floor this machine allows a gateway: the SDK's transfer while the same bytes also
 *    cross one HTTP hop into a process that hashes them (the slower of the two).
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { NodesBlobStore, ReedSolomon, rank } from '../src/storage/index.ts'
import { startPiper } from '../test/helpers/piper-server.ts'
import { isListening, S3, S3_ACCESS } from '../test/helpers/services.ts'
import { startStorageNodes } from '../test/helpers/storage-nodes.ts'
import { mbPerSecond, median, printTable } from './lib/measure.ts'
import { peakRssMiB, settled, timed } from './lib/process.ts'

const SIZE = Number(process.env.BENCH_STORAGE_BYTES ?? 1 << 30)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECTIONS = (process.env.BENCH_STORAGE ?? 'stores,erasure,rebalance,s3').split(',')
const dir = await mkdtemp(join(tmpdir(), 'piper-bench-storage-'))
const file = join(dir, 'input.bin')
spawnSync('sh', ['-c', `head -c ${SIZE} /dev/urandom > ${file}`], { stdio: 'inherit' })

const curlUp = (url: string) =>
  timed('curl', ['-sSf', '-m', '1200', '-o', '/dev/null', '-T', file, url])
const curlDown = (url: string) => timed('curl', ['-sSf', '-m', '1200', '-o', '/dev/null', url])

interface Setup {
  label: string
  start: () => Promise<{ args: string[]; env?: Record<string, string>; stop: () => Promise<void> }>
}

async function stores(): Promise<void> {
  console.log(
    `\n## ${SIZE / 2 ** 20} MiB through piper up: fs and storage nodes (loopback, one disk)`,
  )
  const setups: Setup[] = [
    { label: 'fs', start: async () => ({ args: [], stop: async () => {} }) },
    {
      label: 'nodes replicas:2 (3 nodes)',
      start: async () => {
        const cluster = await startStorageNodes(3)
        return {
          args: ['--blobs', `nodes://${cluster.addresses.join(',')}?redundancy=replicas:2`],
          stop: cluster.stop,
        }
      },
    },
    {
      label: 'nodes ec:4+2 (6 nodes)',
      start: async () => {
        const cluster = await startStorageNodes(6)
        return {
          args: ['--blobs', `nodes://${cluster.addresses.join(',')}?redundancy=ec:4%2B2`],
          stop: cluster.stop,
        }
      },
    },
  ]
  const results = new Map<string, { up: number[]; down: number[]; rss: number[] }>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of setups) {
      const backend = await setup.start()
      const piper = await startPiper(backend.args, backend.env)
      try {
        const up = curlUp(`${piper.url}/v1/files/bench.bin`)
        const down = curlDown(`${piper.url}/v1/files/bench.bin`)
        const rss = await peakRssMiB(piper.child.pid!)
        const r = results.get(setup.label) ?? { up: [], down: [], rss: [] }
        r.up.push(up)
        r.down.push(down)
        r.rss.push(rss)
        results.set(setup.label, r)
        console.log(
          `round ${round + 1} ${setup.label}: up ${up.toFixed(0)} ms, down ${down.toFixed(0)} ms`,
        )
      } finally {
        await piper.stop()
        await rm(piper.data, { recursive: true, force: true })
        await backend.stop()
      }
    }
  }
  const fs = results.get('fs')!
  const rows: (string | number)[][] = [
    ['blobs', 'upload MB/s', 'vs fs', 'download MB/s', 'vs fs', 'peak RSS MiB'],
  ]
  for (const [label, r] of results) {
    rows.push([
      label,
      mbPerSecond(SIZE, median(r.up)),
      median(fs.up) / median(r.up),
      mbPerSecond(SIZE, median(r.down)),
      median(fs.down) / median(r.down),
      Math.max(...r.rss),
    ])
  }
  printTable(rows)
}

async function erasure(): Promise<void> {
  console.log(
    "\n## erasure coding 4+2, 1 MiB shards, in-process (the code's own figure), MB/s of data per core",
  )
  const shard = 1 << 20
  const data = Array.from({ length: 4 }, () => new Uint8Array(randomBytes(shard)))
  const rate = (ms: number, n: number) => (n * 4 * shard) / 1e6 / (ms / 1000)
  const time = (n: number, fn: () => void) => {
    for (let i = 0; i < 3; i++) fn()
    const t = performance.now()
    for (let i = 0; i < n; i++) fn()
    return performance.now() - t
  }
  const rows: (string | number)[][] = [['implementation', 'encode MB/s', 'rebuild 2 lost MB/s']]
  for (const engine of ['simd', 'js'] as const) {
    const rs = new ReedSolomon(4, 2, { engine })
    const parity = rs.encode(data)
    const n = engine === 'simd' ? 200 : 20
    const shards = [undefined, data[1], undefined, data[3], parity[0], parity[1]]
    rows.push([
      `Piper ${engine === 'simd' ? 'WebAssembly SIMD' : 'plain JavaScript'}`,
      rate(median([0, 1, 2].map(() => time(n, () => rs.encode(data)))), n),
      rate(median([0, 1, 2].map(() => time(n, () => rs.reconstruct(shards)))), n),
    ])
  }
  try {
    const native = createRequire(import.meta.url)('@ronomon/reed-solomon')
    const context = native.create(4, 2)
    const buffer = Buffer.concat(data)
    const parity = Buffer.alloc(2 * shard)
    const run = (sources: number, targets: number) =>
      new Promise<void>((resolve, reject) =>
        native.encode(
          context,
          sources,
          targets,
          buffer,
          0,
          buffer.length,
          parity,
          0,
          parity.length,
          (e: Error) => (e ? reject(e) : resolve()),
        ),
      )
    const timeAsync = async (n: number, fn: () => Promise<void>) => {
      for (let i = 0; i < 3; i++) await fn()
      const t = performance.now()
      for (let i = 0; i < n; i++) await fn()
      return performance.now() - t
    }
    const encode = await timeAsync(200, () => run(0b001111, 0b110000))
    const rebuild = await timeAsync(200, () => run(0b111010, 0b000101))
    rows.push([
      '@ronomon/reed-solomon (native C, one call at a time)',
      rate(encode, 200),
      rate(rebuild, 200),
    ])
  } catch {
    rows.push([
      '@ronomon/reed-solomon: not installed (npm i --no-save @ronomon/reed-solomon)',
      '',
      '',
    ])
  }
  printTable(rows)
}

async function rebalance(): Promise<void> {
  const count = Number(process.env.BENCH_REBALANCE_BLOBS ?? 500)
  console.log(
    `\n## rebalance: ${count} chunks of 256 KiB on 3 nodes (replicas:2), a 4th node added`,
  )
  const cluster = await startStorageNodes(4)
  try {
    const three = new NodesBlobStore({
      nodes: cluster.addresses.slice(0, 3),
      redundancy: { replicas: 2 },
    })
    const four = new NodesBlobStore({ nodes: cluster.addresses, redundancy: { replicas: 2 } })
    const keys: string[] = []
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(256 * 1024)
      const key = createHash('sha256').update(bytes).digest('hex')
      await three.put(key, bytes)
      keys.push(key)
    }
    const t = performance.now()
    const result = await four.repairAll()
    const ms = performance.now() - t
    const nodes = cluster.addresses.map((name) => ({ name, weight: 1 }))
    const moving = keys.filter((key) =>
      rank(key, nodes)
        .slice(0, 2)
        .some((n) => n.name === cluster.addresses[3]),
    )
    const minimum = moving.length * 256 * 1024
    printTable([
      [
        'chunks',
        'moved to the new node',
        'bytes copied',
        'least that must move',
        'copied ÷ least',
        'seconds',
      ],
      [count, moving.length, result.bytesCopied, minimum, result.bytesCopied / minimum, ms / 1000],
    ])
  } finally {
    await cluster.stop()
  }
}

async function s3(): Promise<void> {
  console.log(
    `\n## S3 on Swift (s3api): ${SIZE / 2 ** 20} MiB through Piper against the AWS SDK itself`,
  )
  if (!(await isListening(S3.host, S3.port))) {
    console.log(`S3 is not answering on ${S3.port}: bash scripts/services/swift-s3.sh`)
    return
  }
  const client = new S3Client({
    ...S3_ACCESS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  const bucket = 'piper-bench'
  const piperUp: number[] = []
  const piperDown: number[] = []
  const sdkUp: number[] = []
  const sdkDown: number[] = []
  const floorUp: number[] = []
  const floorDown: number[] = []
  const hop = await hashingHop()
  for (let round = 0; round < ROUNDS; round++) {
    const prefix = `r${randomUUID().slice(0, 8)}/`
    const url = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(S3_ACCESS.endpoint)}&region=us-east-1`
    await settled('swift')
    const piper = await startPiper(['--blobs', url], {
      AWS_ACCESS_KEY_ID: S3_ACCESS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_ACCESS.credentials.secretAccessKey,
    })
    try {
      piperUp.push(curlUp(`${piper.url}/v1/files/bench.bin`))
      // Every transfer starts with Swift idle: after Piper's 256 chunk PUTs its container
      // updates ran on into the download, costing it 1.5-2 s of Swift's CPU (the SDK's one
      // object does not).
      await settled('swift')
      piperDown.push(curlDown(`${piper.url}/v1/files/bench.bin`))
    } finally {
      await piper.stop()
      await rm(piper.data, { recursive: true, force: true })
    }
    await settled('swift')
    let t = performance.now()
    await new Upload({
      client,
      params: { Bucket: bucket, Key: `${prefix}sdk.bin`, Body: createReadStream(file) },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done()
    sdkUp.push(performance.now() - t)
    await settled('swift')
    t = performance.now()
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}sdk.bin` }))
    for await (const _ of got.Body as AsyncIterable<Uint8Array>);
    sdkDown.push(performance.now() - t)
    // The floor: the SDK's transfer while the same bytes also cross one HTTP hop into a process
    // that hashes them, which any gateway in front of S3 has to do; the slower of the two.
    const [hopUp, sdkUpLoaded] = await Promise.all([
      curlTimed(['-T', file, `${hop.url}/x`]),
      timedAsync(() =>
        new Upload({
          client,
          params: { Bucket: bucket, Key: `${prefix}floor.bin`, Body: createReadStream(file) },
          partSize: 8 * 1024 * 1024,
          queueSize: 4,
        }).done(),
      ),
    ])
    floorUp.push(Math.max(hopUp, sdkUpLoaded))
    await settled('swift')
    const [hopDown, sdkDownLoaded] = await Promise.all([
      curlTimed([`${hop.url}/x`]),
      timedAsync(async () => {
        const body = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: `${prefix}floor.bin` }),
        )
        for await (const _ of body.Body as AsyncIterable<Uint8Array>);
      }),
    ])
    floorDown.push(Math.max(hopDown, sdkDownLoaded))
    console.log(
      `round ${round + 1}: piper up ${piperUp.at(-1)!.toFixed(0)} down ${piperDown.at(-1)!.toFixed(0)}, sdk up ${sdkUp.at(-1)!.toFixed(0)} down ${sdkDown.at(-1)!.toFixed(0)} ms`,
    )
  }
  client.destroy()
  hop.child.kill()
  printTable([
    ['', 'Piper MB/s', 'SDK MB/s', 'Piper ÷ SDK', 'floor MB/s', 'floor ÷ SDK'],
    [
      'upload',
      mbPerSecond(SIZE, median(piperUp)),
      mbPerSecond(SIZE, median(sdkUp)),
      median(sdkUp) / median(piperUp),
      mbPerSecond(SIZE, median(floorUp)),
      median(sdkUp) / median(floorUp),
    ],
    [
      'download',
      mbPerSecond(SIZE, median(piperDown)),
      mbPerSecond(SIZE, median(sdkDown)),
      median(sdkDown) / median(piperDown),
      mbPerSecond(SIZE, median(floorDown)),
      median(sdkDown) / median(floorDown),
    ],
  ])
}

/** A process that takes uploads and serves the input file over HTTP, hashing every byte (sha256). */
async function hashingHop(): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const script = `
    const http = require('node:http'); const fs = require('node:fs'); const crypto = require('node:crypto')
    const server = http.createServer((req, res) => {
      const hash = crypto.createHash('sha256')
      if (req.method === 'PUT') { req.on('data', (d) => hash.update(d)); req.on('end', () => res.end(hash.digest('hex'))); return }
      res.writeHead(200, { 'content-length': fs.statSync(process.argv[1]).size })
      fs.createReadStream(process.argv[1]).on('data', (d) => hash.update(d)).pipe(res)
    })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))`
  const child = spawn(process.execPath, ['-e', script, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [port] = (await once(child.stdout!, 'data')) as [Buffer]
  return { url: `http://127.0.0.1:${String(port).trim()}`, child }
}

function curlTimed(args: string[]): Promise<number> {
  const began = performance.now()
  const child = spawn('curl', ['-sSf', '-m', '1200', '-o', '/dev/null', ...args], {
    stdio: 'ignore',
  })
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`curl exited with ${code}`)
    return performance.now() - began
  })
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const began = performance.now()
  await fn()
  return performance.now() - began
}

try {
  if (SECTIONS.includes('stores')) await stores()
  if (SECTIONS.includes('erasure')) await erasure()
  if (SECTIONS.includes('rebalance')) await rebalance()
  if (SECTIONS.includes('s3')) await s3()
} finally {
  await rm(dir, { recursive: true, force: true })
}
