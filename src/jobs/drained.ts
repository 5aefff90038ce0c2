import type { EventEmitter } from 'node:events'

/**
 * Waits for a writable that refused more (`write()` returned false) to drain; rejects if it
 * closes or fails first, so a writer never waits forever on a stream its reader abandoned.
 */
export function drained(stream: EventEmitter & { destroyed: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.reject(new Error('the stream was closed'))
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain)
      stream.off('close', onClose)
      stream.off('error', onClose)
      if (error) reject(error)
      else resolve()
    }
    const onDrain = () => done()
    const onClose = (error?: Error) => done(error ?? new Error('the stream was closed'))
    stream.on('drain', onDrain)
    stream.on('close', onClose)
    stream.on('error', onClose)
  })
}
