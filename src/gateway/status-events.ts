import type { IncomingMessage, ServerResponse } from 'node:http'
import { SseStream } from './sse.ts'

/**
 * A long task's status as Server-Sent Events: `progress` while it runs, then one `end` with the
 * final status, and the stream closes. `release` frees the client's stream slot at the close.
 */
export async function streamStatus<S extends { state: string }>(
  req: IncomingMessage,
  res: ServerResponse,
  task: { watch(signal: AbortSignal): AsyncGenerator<S> },
  release: () => void,
  shutdown: AbortSignal,
): Promise<void> {
  res.once('close', release)
  const stream = new SseStream(req, res, shutdown)
  let id = 0
  try {
    for await (const status of task.watch(stream.signal)) {
      await stream.send(++id, status.state === 'running' ? 'progress' : 'end', status)
    }
  } catch (error) {
    if (!stream.signal.aborted) throw error
  } finally {
    stream.end()
  }
}
