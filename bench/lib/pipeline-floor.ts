/**
 * The floor under a pipeline run on this machine (`node pipeline-floor.ts DIR`): the DAG of
 * `npm run bench -- pipelines` (a = extract of a 10-file tar, b = gzip of each file, c = tar of
 * the ten) done by a bare process with none of Piper's code, each step made durable before the
 * next starts, as Piper promises: its output files stored by content (a temporary file, fsync,
 * link, the folder's fsync; bytes stored already are not written again) and, in one SQLite
 * transaction (WAL, one `fdatasync` of the log shared by the commits waiting for it, as Piper's
 * driver does), the files' records and the step's. A run's creation is committed before its
 * `202`. No queue, no retries, no leases, no events kept, no tenancy, no checks of names or
 * sizes: what is left is the work and the durable records, which no engine can do without.
 *
 * HTTP: `PUT /files/NAME` (the input), `POST /runs` `{input}` → `202 {id}`, `GET /events`: SSE,
 * an `event: state` with `{run, state: "succeeded"}` as each run ends. Prints its port.
 */
import { createHash, randomUUID } from 'node:crypto'
import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises'
import { createServer, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { gzipSync } from 'node:zlib'
import { extract as tarExtract, pack as tarPack } from 'tar-stream'
import { writeDurably } from './durable-file.ts'

const dir = process.argv[2]!
const blobs = join(dir, 'blobs')
await mkdir(blobs, { recursive: true })

const db = new DatabaseSync(join(dir, 'floor.db'))
db.exec('PRAGMA journal_mode = WAL')
db.exec('PRAGMA synchronous = NORMAL')
db.exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, input TEXT NOT NULL, state TEXT NOT NULL,
  created INTEGER NOT NULL, updated INTEGER NOT NULL)`)
db.exec(`CREATE TABLE steps (run_id TEXT NOT NULL, step TEXT NOT NULL, item INTEGER NOT NULL,
  state TEXT NOT NULL, output TEXT, updated INTEGER NOT NULL, PRIMARY KEY (run_id, step, item))`)
db.exec(`CREATE TABLE files (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  created INTEGER NOT NULL)`)
const insertRun = db.prepare(
  'INSERT INTO runs (id, input, state, created, updated) VALUES (?, ?, ?, ?, ?)',
)
const endRun = db.prepare('UPDATE runs SET state = ?, updated = ? WHERE id = ?')
const insertStep = db.prepare(
  'INSERT INTO steps (run_id, step, item, state, output, updated) VALUES (?, ?, ?, ?, ?, ?)',
)
const putFile = db.prepare(
  `INSERT INTO files (name, sha256, size, created) VALUES (?, ?, ?, ?)
   ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size`,
)
const fileByName = db.prepare('SELECT sha256 FROM files WHERE name = ?')

let wal: FileHandle | undefined
let syncing: Promise<void> | undefined
let nextSync: Promise<void> | undefined
/** Resolves once every commit made before the call is on the disk (one sync for all waiting). */
function synced(): Promise<void> {
  if (!syncing) {
    syncing = (async () => {
      wal ??= await open(`${join(dir, 'floor.db')}-wal`, 'r+')
      await wal.datasync()
    })().finally(() => {
      syncing = undefined
    })
    return syncing
  }
  nextSync ??= syncing.then(() => {
    nextSync = undefined
    return synced()
  })
  return nextSync
}

/** One transaction, durable before it resolves. */
async function commit(work: () => void): Promise<void> {
  db.exec('BEGIN IMMEDIATE')
  try {
    work()
    db.exec('COMMIT')
  } catch (error) {
    db.exec('ROLLBACK')
    throw error
  }
  await synced()
}

const stored = new Set<string>()
/** Stores bytes under their sha256 (once), durably; the key. */
async function storeBlob(bytes: Uint8Array): Promise<string> {
  const key = createHash('sha256').update(bytes).digest('hex')
  if (stored.has(key)) return key
  await writeDurably(blobs, key, bytes)
  stored.add(key)
  return key
}

const listeners = new Set<ServerResponse>()

async function run(id: string, input: string): Promise<void> {
  const { sha256 } = fileByName.get(input) as { sha256: string }
  const members: { name: string; bytes: Buffer }[] = []
  const reader = tarExtract()
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const parts: Buffer[] = []
      stream.on('data', (part) => void parts.push(part as Buffer))
      stream.on('end', () => {
        members.push({ name: header.name, bytes: Buffer.concat(parts) })
        next()
      })
    })
    reader.on('finish', resolve)
    reader.on('error', reject)
  })
  reader.end(await readFile(join(blobs, sha256)))
  await done
  // a: its ten files, then their records and its own.
  const a = await Promise.all(
    members.map(async (m) => ({
      name: `w/${id}/${m.name}`,
      bytes: m.bytes,
      key: await storeBlob(m.bytes),
    })),
  )
  await commit(() => {
    const now = Date.now()
    for (const file of a) putFile.run(file.name, file.key, file.bytes.length, now)
    insertStep.run(id, 'a', 0, 'succeeded', `w/${id}/`, now)
  })
  // b: each file gzipped and stored, in parallel; the ten recorded in one transaction (ten
  // measured 371 runs/s against this 408: the floor takes the faster).
  const b = await Promise.all(
    a.map(async (file, item) => {
      // A small zlib state (memLevel 1, a 512-byte window): its set-up, not the bytes, is the
      // cost of gzipping 75 bytes (async gzip with the default state: 268 runs/s against 367).
      const bytes = gzipSync(file.bytes, { level: 1, memLevel: 1, windowBits: 9 })
      return { name: `${file.name}.gz`, bytes, key: await storeBlob(bytes), item }
    }),
  )
  await commit(() => {
    const now = Date.now()
    for (const { name, bytes, key, item } of b) {
      putFile.run(name, key, bytes.length, now)
      insertStep.run(id, 'b', item, 'succeeded', name, now)
    }
  })
  // c: the ten joined into one tar, stored, recorded with its step and the run's end.
  const archive = tarPack()
  for (const file of b) archive.entry({ name: file.name }, file.bytes)
  archive.finalize()
  const parts: Buffer[] = []
  for await (const part of archive) parts.push(part as Buffer)
  const tar = Buffer.concat(parts)
  const key = await storeBlob(tar)
  await commit(() => {
    const now = Date.now()
    putFile.run(`o/${id}.tar`, key, tar.length, now)
    insertStep.run(id, 'c', 0, 'succeeded', `o/${id}.tar`, now)
    endRun.run('succeeded', now, id)
  })
  const event = `event: state\ndata: ${JSON.stringify({ run: id, state: 'succeeded' })}\n\n`
  for (const listener of listeners) listener.write(event)
}

async function body(req: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

const server = createServer(async (req, res) => {
  try {
    const url = req.url ?? '/'
    if (req.method === 'PUT' && url.startsWith('/files/')) {
      const bytes = await body(req)
      const key = await storeBlob(bytes)
      await commit(() =>
        putFile.run(decodeURIComponent(url.slice(7)), key, bytes.length, Date.now()),
      )
      res.writeHead(201).end()
    } else if (req.method === 'POST' && url === '/runs') {
      const { input } = JSON.parse((await body(req)).toString()) as { input: string }
      const id = randomUUID()
      await commit(() => {
        const now = Date.now()
        insertRun.run(id, input, 'running', now, now)
      })
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
      run(id, input).catch((error: unknown) => {
        process.stderr.write(`run ${id} failed: ${String(error)}\n`)
        process.exit(1)
      })
    } else if (req.method === 'GET' && url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      listeners.add(res)
      res.on('close', () => listeners.delete(res))
    } else {
      res.writeHead(404).end()
    }
  } catch (error) {
    res.writeHead(500).end(String(error))
  }
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`)
})
process.once('SIGTERM', () => {
  for (const listener of listeners) listener.end()
  server.close(() => {
    db.close()
    process.exit(0)
  })
})
