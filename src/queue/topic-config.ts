import { join } from 'node:path'
import {
  type FsyncPolicy,
  formatFsyncPolicy,
  parseFsyncPolicy,
  readTextIfExists,
  writeFileDurably,
} from '../log/index.ts'
import { QueueError } from './errors.ts'
import type { TopicOptions } from './queue.ts'

/** A topic's options with defaults filled in. */
export interface TopicConfig {
  fsync: FsyncPolicy
  schema?: object
  deleteAcked: boolean
  maxBytes?: number
  maxAgeMs?: number
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = { fsync: { kind: 'always' }, deleteAcked: true }

/** `base` changed by the options given (undefined leaves a field as it is). */
export function mergeTopicOptions(base: TopicConfig, options: TopicOptions = {}): TopicConfig {
  const merged: TopicConfig = { ...base }
  if (options.fsync) merged.fsync = options.fsync
  if (options.schema) merged.schema = options.schema
  if (options.deleteAcked !== undefined) merged.deleteAcked = options.deleteAcked
  if (options.maxBytes !== undefined) merged.maxBytes = positive(options.maxBytes, 'maxBytes')
  if (options.maxAgeMs !== undefined) merged.maxAgeMs = positive(options.maxAgeMs, 'maxAgeMs')
  return merged
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new QueueError('E_QUEUE_ARGUMENT', `${name} must be a positive integer, not ${value}`)
  }
  return value
}

/** Reads `topic.json` in a topic's folder, or undefined if the topic was never configured. */
export async function readTopicConfig(dir: string): Promise<TopicConfig | undefined> {
  const text = await readTextIfExists(join(dir, 'topic.json'))
  if (text === undefined) return undefined
  const stored = JSON.parse(text) as Omit<TopicConfig, 'fsync'> & { fsync: string }
  return { ...stored, fsync: parseFsyncPolicy(stored.fsync) }
}

export async function writeTopicConfig(dir: string, config: TopicConfig): Promise<void> {
  const stored = { ...config, fsync: formatFsyncPolicy(config.fsync) }
  await writeFileDurably(join(dir, 'topic.json'), `${JSON.stringify(stored, null, 2)}\n`)
}
