import { availableParallelism } from 'node:os'
import type { Sharp } from 'sharp'
import type { FileService } from '../files/index.ts'
import type { FileRecord } from '../meta/index.ts'
import { encode, OUTPUT_FORMATS, type OutputFormat, outputFormatFor } from './encode.ts'
import { ImageError, imageErrorOf } from './errors.ts'
import { readImage } from './image-kit.ts'
import type { ImageLimits } from './limits.ts'
import { FITS, type ResizeSpec, resize, scaleNeeded } from './resize.ts'
import { Slots } from './slots.ts'

/** The query parameters of an on-demand variant, and nothing else (an allowlist). */
export const VARIANT_QUERY = ['w', 'h', 'fit', 'format', 'q'] as const

/** A variant asked for in a download's query. */
export interface VariantRequest {
  width?: number
  height?: number
  fit: (typeof FITS)[number]
  format?: OutputFormat
  quality?: number
}

/** Whether the query asks for a variant (any of its parameters is present). */
export function asksForVariant(query: URLSearchParams): boolean {
  return VARIANT_QUERY.some((name) => query.has(name))
}

/** Parses `?w=480&h=320&fit=cover&format=webp&q=80`; anything else is `E_IMAGE_VARIANT`. */
export function parseVariantQuery(query: URLSearchParams, limits: ImageLimits): VariantRequest {
  const bad = (why: string) => new VariantError(why)
  for (const name of query.keys()) {
    if (!(VARIANT_QUERY as readonly string[]).includes(name)) {
      throw bad(
        `unknown parameter ${JSON.stringify(name)}; a variant takes ${VARIANT_QUERY.join(', ')}`,
      )
    }
  }
  const size = (name: string) => {
    const raw = query.get(name)
    if (raw === null) return undefined
    if (!/^[1-9]\d{0,4}$/.test(raw) || Number(raw) > limits.maxOutputDimension) {
      throw bad(`${name} must be a whole number from 1 to ${limits.maxOutputDimension}`)
    }
    return Number(raw)
  }
  const width = size('w')
  const height = size('h')
  const fit = query.get('fit') ?? 'inside'
  if (!(FITS as readonly string[]).includes(fit)) throw bad(`fit must be one of ${FITS.join(', ')}`)
  const format = query.get('format') ?? undefined
  if (format !== undefined && !(format in OUTPUT_FORMATS)) {
    throw bad(`format must be one of ${Object.keys(OUTPUT_FORMATS).join(', ')}`)
  }
  const q = query.get('q')
  if (q !== null && (!/^\d{1,3}$/.test(q) || Number(q) < 1 || Number(q) > 100)) {
    throw bad('q must be a whole number from 1 to 100')
  }
  if (width === undefined && height === undefined && format === undefined) {
    throw bad('a variant needs w, h or format')
  }
  return {
    width,
    height,
    fit: fit as VariantRequest['fit'],
    format: format as OutputFormat | undefined,
    quality: q === null ? undefined : Number(q),
  }
}

/** A variant query Piper will not serve: a 400 naming the parameter. */
export class VariantError extends Error {
  readonly code = 'E_IMAGE_VARIANT'
  constructor(message: string) {
    super(message)
    this.name = 'VariantError'
  }
}

/**
 * Variants of stored images made on first request and kept as files beside them
 * (`photo.jpg.variants/w480-inside.webp`), then served from storage like any file. One made
 * before its image was last replaced is made again. Concurrent first requests in a process wait
 * for one computation; two processes may both compute it, and the second stores the same bytes.
 */
export class OnDemandVariants {
  readonly #files: FileService
  readonly #limits: ImageLimits
  readonly #making = new Map<string, Promise<FileRecord>>()
  /** Variants made at once; each holds its image's bytes and pixels, so the rest wait. */
  readonly #slots: Slots

  constructor(options: { files: FileService; limits: ImageLimits; concurrency?: number }) {
    this.#files = options.files
    this.#limits = options.limits
    this.#slots = new Slots(options.concurrency ?? Math.max(2, availableParallelism()))
  }

  /** The stored variant of `image` (made now if missing or older than the image). */
  async variant(clientId: string, image: FileRecord, request: VariantRequest): Promise<FileRecord> {
    const name = variantName(image.name, request)
    const stored = await this.#files.stat(clientId, name).catch(() => undefined)
    if (stored && stored.created >= image.created) return stored
    const key = `${clientId}\0${name}`
    let making = this.#making.get(key)
    if (!making) {
      making = this.#make(clientId, image, name, request).finally(() => this.#making.delete(key))
      this.#making.set(key, making)
    }
    return making
  }

  async #make(
    clientId: string,
    image: FileRecord,
    name: string,
    request: VariantRequest,
  ): Promise<FileRecord> {
    const release = await this.#slots.take()
    try {
      return await this.#render(clientId, image, name, request)
    } finally {
      release()
    }
  }

  async #render(
    clientId: string,
    image: FileRecord,
    name: string,
    request: VariantRequest,
  ): Promise<FileRecord> {
    const source = await readImage(this.#files, image, this.#limits)
    const format = outputFormatFor(source.info.format, request.format)
    const spec: ResizeSpec = { width: request.width, height: request.height, fit: request.fit }
    let pipeline: Sharp
    if (spec.width === undefined && spec.height === undefined) {
      pipeline = await source.pipeline()
    } else {
      const scale = scaleNeeded(spec, source.info.width, source.info.height)
      const raw = await source.raw(scale)
      pipeline = resize(await source.pipeline(), spec, raw, this.#limits)
    }
    const bytes = await encode(pipeline, format, { quality: request.quality })
      .toBuffer()
      .catch((error: unknown) => {
        throw imageErrorOf(error)
      })
    if (bytes.length === 0) throw new ImageError('E_IMAGE_CORRUPT', 'the variant came out empty')
    return this.#files.put(clientId, name, [bytes], {
      contentType: OUTPUT_FORMATS[format].contentType,
    })
  }
}

/** `photo.jpg` + w=480 format=webp → `photo.jpg.variants/w480-inside.webp` (one name per variant). */
export function variantName(image: string, request: VariantRequest): string {
  const parts = [
    request.width === undefined ? '' : `w${request.width}`,
    request.height === undefined ? '' : `h${request.height}`,
    request.width === undefined && request.height === undefined ? 'same' : request.fit,
    request.quality === undefined ? '' : `q${request.quality}`,
  ].filter(Boolean)
  const dot = image.lastIndexOf('.')
  const ext = request.format
    ? OUTPUT_FORMATS[request.format].ext
    : dot > image.lastIndexOf('/') + 1
      ? image.slice(dot)
      : ''
  return `${image}.variants/${parts.join('-')}${ext}`
}
