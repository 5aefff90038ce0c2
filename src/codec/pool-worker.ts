import { createHash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { decodeMember } from './decode-member.ts'
import { encodeChunk } from './encode-chunk.ts'
import { CodecError } from './errors.ts'
import { freeNow } from './free-now.ts'
import { histogram } from './histogram.ts'
import type { PoolRequest, PoolResponse } from './pool.ts'

// One codec task at a time; results are transferred, not copied, back to the pool.
parentPort!.on('message', (request: PoolRequest) => {
  let response: PoolResponse
  try {
    if (request.op === 'analyze') {
      const sha256 = createHash('sha256').update(request.bytes).digest('hex')
      const counts = histogram(request.bytes)
      response = { id: request.id, result: { sha256, histogram: counts } }
      parentPort!.postMessage(response, [counts.buffer as ArrayBuffer])
      return
    }
    const result =
      request.op === 'encode'
        ? encodeChunk(request.bytes, request.histogram)
        : decodeMember(request.bytes, request.decode)
    response = { id: request.id, result }
    parentPort!.postMessage(response, [result.buffer as ArrayBuffer])
    // The input was copied or handed over to this thread: ours alone, and done with.
    freeNow(request.bytes)
  } catch (error) {
    const e = error as Error
    response = {
      id: request.id,
      error:
        error instanceof CodecError
          ? { code: error.code, message: e.message, member: error.member, offset: error.offset }
          : {
              code: undefined,
              message: e.stack ?? e.message,
              member: undefined,
              offset: undefined,
            },
    }
    parentPort!.postMessage(response)
  }
})
