/**
 * The delay before delivery `deliveries + 1` after a failure: exponential from `baseMs`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so retries of many messages that
 * failed together spread out instead of returning in a herd.
 */
export function retryDelay(deliveries: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, deliveries - 1)))
  return Math.round(exp / 2 + Math.random() * (exp / 2))
}
