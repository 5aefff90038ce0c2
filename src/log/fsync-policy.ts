import { LogError } from './errors.ts'

/**
 * When appends reach the disk: `always` (an append resolves after its fsync; appends waiting
 * together share one), `interval` (fsync at most every `ms`, appends resolve after the write),
 * `never` (the OS decides).
 */
export type FsyncPolicy = { kind: 'always' } | { kind: 'interval'; ms: number } | { kind: 'never' }

export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'always' || text === 'never') return { kind: text }
  const match = /^interval:(\d+)$/.exec(text)
  if (match && Number(match[1]) > 0) return { kind: 'interval', ms: Number(match[1]) }
  throw new LogError(
    'E_LOG_CONFIG',
    `invalid fsync policy "${text}": expected always, never or interval:<ms> (e.g. interval:100)`,
  )
}

/** The text form `parseFsyncPolicy` reads. */
export function formatFsyncPolicy(policy: FsyncPolicy): string {
  return policy.kind === 'interval' ? `interval:${policy.ms}` : policy.kind
}
