import { schemaCheck } from '../../schemas/index.ts'
import { JobError } from '../errors.ts'
import { compress } from './compress.ts'
import { decompress } from './decompress.ts'
import { extract } from './extract.ts'
import { hash } from './hash.ts'
import { imageAnalyze } from './image-analyze.ts'
import { imageConvert } from './image-convert.ts'
import { imageDetect } from './image-detect.ts'
import { imageFilter } from './image-filter.ts'
import { imageHash } from './image-hash.ts'
import { imageRedact } from './image-redact.ts'
import { imageResize } from './image-resize.ts'
import { imageStats } from './image-stats.ts'
import { imageVariants } from './image-variants.ts'
import type { ChunkAnalysisName, JobKind } from './job-kind.ts'
import { tar } from './tar.ts'

/** The kinds Piper ships, in the order `piper kinds` lists them. */
export const BUILT_IN_KINDS: readonly JobKind[] = [
  compress,
  decompress,
  hash,
  tar,
  extract,
  imageResize,
  imageVariants,
  imageConvert,
  imageFilter,
  imageDetect,
  imageRedact,
  imageHash,
  imageStats,
  imageAnalyze,
]

const KIND_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/

/**
 * The job kinds a process knows, by name, with their params schemas compiled once. The one
 * place that turns a type name into its behaviour.
 */
export class KindRegistry {
  readonly #kinds = new Map<string, { kind: JobKind; check: ReturnType<typeof schemaCheck> }>()

  constructor(kinds: readonly JobKind[] = BUILT_IN_KINDS) {
    for (const kind of kinds) this.add(kind)
  }

  add(kind: JobKind): void {
    if (!KIND_NAME.test(kind.name)) throw new Error(`bad kind name ${JSON.stringify(kind.name)}`)
    if (this.#kinds.has(kind.name)) throw new Error(`kind ${kind.name} is registered twice`)
    this.#kinds.set(kind.name, { kind, check: schemaCheck(kind.params) })
  }

  get names(): string[] {
    return [...this.#kinds.keys()]
  }

  get all(): JobKind[] {
    return [...this.#kinds.values()].map((entry) => entry.kind)
  }

  has(name: string): boolean {
    return this.#kinds.has(name)
  }

  /** The kind of that name, or `E_JOB_REQUEST` listing the known ones. */
  get(name: string): JobKind {
    const entry = this.#kinds.get(name)
    if (!entry) {
      throw new JobError(
        'E_JOB_REQUEST',
        `unknown kind ${JSON.stringify(name)}; known kinds: ${this.names.join(', ')}`,
      )
    }
    return entry.kind
  }

  /** Checks params against the kind's schema; `E_JOB_REQUEST` names the field (`where.field`). */
  checkParams(name: string, params: unknown, where = 'params'): Record<string, unknown> {
    this.get(name)
    const { check } = this.#kinds.get(name)!
    const value = params ?? {}
    const problem = check(value, where)
    if (problem) throw new JobError('E_JOB_REQUEST', `${name}: ${problem}`)
    this.#kinds.get(name)!.kind.checkParams?.(value as Record<string, unknown>, where)
    return value as Record<string, unknown>
  }

  /**
   * The kinds matching a `--kinds` list of names and globs (`compress,image.*`); `*` is all.
   * An entry that matches no kind is a usage error (a typo would otherwise serve nothing).
   */
  matching(patterns: readonly string[]): JobKind[] {
    const chosen = new Set<JobKind>()
    for (const pattern of patterns) {
      const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`)
      const hits = this.all.filter((kind) => re.test(kind.name))
      if (hits.length === 0) {
        throw new JobError(
          'E_JOB_REQUEST',
          `--kinds: ${JSON.stringify(pattern)} matches no kind (known: ${this.names.join(', ')})`,
        )
      }
      for (const kind of hits) chosen.add(kind)
    }
    return [...chosen]
  }

  /** The chunk analyses some known kind reads: what uploads must compute. */
  chunkAnalyses(): Set<ChunkAnalysisName> {
    return new Set(this.all.flatMap((kind) => kind.chunkAnalyses ?? []))
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
}
