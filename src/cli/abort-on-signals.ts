/**
 * An abort signal that SIGINT and SIGTERM fire, for a command that stops cleanly between units
 * of work (a repair, a backup). `dispose()` removes the handlers when the command is done.
 */
export function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    signal: stop.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
