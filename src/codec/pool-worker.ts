import { parentPort } from 'node:worker_threads'
import { analyzeHere, sha256Hex } from './chunk-analysis.ts'
import { decodeMember } from './decode-member.ts'
import { encodeChunk } from './encode-chunk.ts'
import { CodecError } from './errors.ts'
import { freeNow } from './free-now.ts'
import type { PoolRequest, PoolResponse } from './pool.ts'
import { SpareBuffers, spareSize } from './spare-buffers.ts'

/** Memory the pool sent along with tasks, for results; dropped after a second without work. */
const spares = new SpareBuffers(2, Number.POSITIVE_INFINITY)
const idleTrim = setTimeout(() => spares.clear(), 1000).unref()
let reused: ArrayBuffer | undefined

/** A result's memory: a spare when one is large enough, else fresh (in steps that reuse well). */
function allocate(n: number): Uint8Array {
  reused = spares.take(n)
  return new Uint8Array(reused ?? new ArrayBuffer(spareSize(n)), 0, n)
}

// One codec task at a time; results are transferred, not copied, back to the pool, and so is
// an input buffer the pool lent.
parentPort!.on('message', (request: PoolRequest) => {
  idleTrim.refresh()
  if (request.spare) spares.keep(request.spare)
  reused = undefined
  const lent = request.lent ? (request.bytes.buffer as ArrayBuffer) : undefined
  const answer = (response: PoolResponse, transfer: ArrayBuffer[] = []) => {
    if (lent) {
      response.lent = lent
      transfer.push(lent)
    }
    parentPort!.postMessage(response, transfer)
  }
  try {
    if (request.op === 'sha256') {
      answer({ id: request.id, result: sha256Hex(request.bytes) })
      return
    }
    if (request.op === 'analyze') {
      const result = analyzeHere(request.bytes)
      answer({ id: request.id, result }, [result.histogram.buffer as ArrayBuffer])
      return
    }
    // The input's hash before the work: the work is not meant to change it, but need not be trusted.
    const inputSha256 = request.op === 'encode' && request.hash ? sha256Hex(request.bytes) : ''
    const result =
      request.op === 'encode'
        ? encodeChunk(request.bytes, request.histogram, allocate)
        : decodeMember(request.bytes, request.decode, allocate)
    if (result.buffer === reused) {
      // Past the result, reused memory still holds an earlier one: it goes with the buffer.
      new Uint8Array(reused, result.byteOffset + result.byteLength).fill(0)
    }
    const hashed = inputSha256
      ? { member: result, inputSha256, memberSha256: sha256Hex(result) }
      : undefined
    answer({ id: request.id, result: hashed ?? result }, [result.buffer as ArrayBuffer])
    // An input handed over to this thread is ours alone, and done with.
    if (!lent) freeNow(request.bytes)
  } catch (error) {
    const e = error as Error
    answer({
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
    })
  }
})
