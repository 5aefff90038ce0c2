import { isIP } from 'node:net'

/** Whether `host` is a loopback address (only this machine can connect to a server on it). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  const bare = host.replace(/^\[|\]$/g, '')
  if (isIP(bare) === 4) return bare.startsWith('127.')
  return bare === '::1'
}
