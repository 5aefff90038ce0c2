/**
 * A bare blob server in its own process (`node blob-echo.ts DIR`): prints its port, then stores
 * each `PUT /KEY` body durably (a temporary file, fsync, link, the folder's fsync, as a storage
 * node stores a chunk) and answers `GET /KEY` with the file's bytes. The cluster benchmark times
 * it as the floor under a storage node: the bytes over loopback and onto the disk, nothing else.
 */

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { writeDurably } from './durable-file.ts'

const dir = process.argv[2]!

const server = createServer(async (req, res) => {
  const key = (req.url ?? '/').slice(1)
  try {
    if (req.method === 'PUT') {
      await writeDurably(dir, key, req)
      res.writeHead(201).end()
    } else {
      const bytes = await readFile(join(dir, key))
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes)
    }
  } catch (error) {
    res.writeHead(500).end(String(error))
  }
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`)
})
