/**
 * A bare blob server in its own process (`node blob-echo.ts DIR`): prints its port, then stores
 * each `PUT /KEY` body durably (a temporary file, fsync, link, the folder's fsync, as a storage
 * node stores a chunk) and answers `GET /KEY` with the file's bytes. The cluster benchmark times
 * it as the floor under a storage node: the bytes over loopback and onto the disk, nothing else.
 */

import { link, open, readFile, unlink } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'

const dir = process.argv[2]!

const server = createServer(async (req, res) => {
  const key = (req.url ?? '/').slice(1)
  try {
    if (req.method === 'PUT') {
      const tmp = join(dir, `${key}.tmp`)
      const file = await open(tmp, 'wx')
      for await (const piece of req) await file.write(piece as Buffer)
      await file.sync()
      await file.close()
      await link(tmp, join(dir, key)).catch(() => {})
      await unlink(tmp)
      const folder = await open(dir, 'r')
      await folder.sync()
      await folder.close()
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
