import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { statSync } from 'node:fs'

/**
 * Makes a FIFO at `path` and runs `write(path)` while a reader drains it; asserts that the
 * FIFO is still one afterwards (not replaced by a file) and returns what was read. The reader
 * is a process of its own, so that a regression (the pipe replaced, its reader left waiting)
 * ends in a failed assertion and a kill, not in a test that never ends.
 */
export async function throughFifo(path: string, write: (path: string) => Promise<void>) {
  execFileSync('mkfifo', [path])
  const reader = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] })
  const pieces: Buffer[] = []
  reader.stdout.on('data', (piece: Buffer) => pieces.push(piece))
  const done = once(reader, 'exit')
  try {
    await write(path)
    assert.ok(statSync(path).isFIFO(), 'still a pipe')
    await done
    return Buffer.concat(pieces)
  } finally {
    reader.kill()
  }
}
