import { fdatasync, write } from 'node:fs'

/*
 * The append path's two calls, on the callback API. A `fs/promises` call allocates a fresh
 * ArrayBuffer of stat fields per request; at one write and one fdatasync per message those were
 * a large share of the ArrayBuffers a served queue made, and full collections sweep them all.
 */

/** Writes all of `bytes` at `position` (a regular file may take a write in parts). */
export function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0
    const next = (error: NodeJS.ErrnoException | null, written: number): void => {
      if (error) {
        reject(error)
        return
      }
      done += written
      if (done === bytes.length) resolve()
      else if (written === 0) reject(new Error(`write at ${position + done} made no progress`))
      else write(fd, bytes, done, bytes.length - done, position + done, next)
    }
    write(fd, bytes, 0, bytes.length, position, next)
  })
}

/** fdatasync(2): the data and the size needed to read it back, not the modification time. */
export function dataSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(fd, (error) => (error ? reject(error) : resolve()))
  })
}
