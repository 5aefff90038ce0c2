import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import sharp from 'sharp'
import type { RawImage } from './image-source.ts'

/** One thing found in an image; the box in pixels of the image as displayed. */
export interface Detection {
  /** `face`, `person` or `vehicle`. */
  label: string
  /** A vehicle's kind: `car`, `bus`, `truck`, `motorcycle`, `bicycle`, `train`, `boat`, `airplane`. */
  type?: string
  score: number
  box: { x: number; y: number; width: number; height: number }
}

export interface DetectOptions {
  labels: readonly string[]
  /** The lowest score kept, for every label; absent: each label's default (face 0.5, others 0.3). */
  minScore?: number
  maxResults: number
}

/** The labels `image.detect` can find. */
export const DETECTABLE = ['face', 'person', 'vehicle'] as const

/**
 * Pixels go to the model at most this large on their long side: SSD MobileNet looks at a
 * 512 × 512 resampling anyway, so more only costs the copy and the resize.
 */
export const DETECT_SIDE = 1024

interface Pending {
  resolve(detections: Detection[]): void
  reject(error: Error): void
}

/**
 * Detection on a few worker threads, started on first use (a process that never detects
 * never loads TensorFlow). Each thread loads a model once, when a request first needs it, and
 * takes one image at a time; requests wait in order for a free thread.
 */
export class Detector {
  readonly threads: number
  #workers: { worker: Worker; busy: boolean; pending: Map<number, Pending> }[] = []
  #waiting: (() => void)[] = []
  #nextId = 1
  #closed = false

  constructor(options: { threads?: number } = {}) {
    this.threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism()))
  }

  /** Finds faces in decoded pixels (any channels; alpha is dropped). */
  async detect(image: RawImage, options: DetectOptions): Promise<Detection[]> {
    const scale = Math.min(1, DETECT_SIDE / Math.max(image.width, image.height))
    const { data, info } = await sharp(image.data, {
      raw: { width: image.width, height: image.height, channels: image.channels },
    })
      .resize({
        width: Math.max(1, Math.round(image.width * scale)),
        height: Math.max(1, Math.round(image.height * scale)),
        fit: 'fill',
      })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    // sharp's buffers live in memory Node cannot transfer: one copy into a transferable one.
    const found = await this.#run({
      data: new Uint8Array(data),
      width: info.width,
      height: info.height,
      ...options,
    })
    const sx = image.width / info.width
    const sy = image.height / info.height
    return found.map((d) => ({
      ...d,
      box: clampBox(
        { x: d.box.x * sx, y: d.box.y * sy, width: d.box.width * sx, height: d.box.height * sy },
        image.width,
        image.height,
      ),
    }))
  }

  async #run(
    request: DetectOptions & { data: Uint8Array; width: number; height: number },
  ): Promise<Detection[]> {
    const slot = await this.#slot()
    const id = this.#nextId++
    slot.busy = true
    try {
      return await new Promise<Detection[]>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject })
        slot.worker.postMessage({ id, ...request }, [request.data.buffer as ArrayBuffer])
      })
    } finally {
      slot.pending.delete(id)
      slot.busy = false
      this.#waiting.shift()?.()
    }
  }

  async #slot() {
    for (;;) {
      if (this.#closed) throw new Error('the detector is closed')
      const free = this.#workers.find((w) => !w.busy)
      if (free) return free
      if (this.#workers.length < this.threads) return this.#spawn()
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    }
  }

  #spawn() {
    const worker = new Worker(new URL('./detector-thread.ts', import.meta.url))
    worker.unref()
    const slot = { worker, busy: false, pending: new Map<number, Pending>() }
    worker.on('message', (message: { id: number; detections?: Detection[]; error?: string }) => {
      const pending = slot.pending.get(message.id)
      if (!pending) return
      if (message.error !== undefined) pending.reject(new Error(`detection: ${message.error}`))
      else pending.resolve(message.detections ?? [])
    })
    const fail = (error: Error) => {
      for (const pending of slot.pending.values()) pending.reject(error)
      slot.pending.clear()
      this.#workers = this.#workers.filter((w) => w !== slot)
      this.#waiting.shift()?.()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the detection thread exited (${code})`)))
    this.#workers.push(slot)
    return slot
  }

  /** Stops the threads; a detection in progress fails. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    const workers = this.#workers
    this.#workers = []
    for (const wake of this.#waiting.splice(0)) wake()
    await Promise.all(workers.map((w) => w.worker.terminate()))
  }
}

function clampBox(box: Detection['box'], width: number, height: number): Detection['box'] {
  const x = Math.max(0, Math.min(width, Math.round(box.x)))
  const y = Math.max(0, Math.min(height, Math.round(box.y)))
  return {
    x,
    y,
    width: Math.max(0, Math.min(width - x, Math.round(box.width))),
    height: Math.max(0, Math.min(height - y, Math.round(box.height))),
  }
}
