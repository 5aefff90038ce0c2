import type { Logger } from '../telemetry/index.ts'

/** A long-lived part of a process: started once, closed (idempotently, draining) once. */
export interface Component {
  readonly name: string
  start(): Promise<void>
  /** Optional first step of shutdown: stop advertising readiness while still serving. */
  drain?(): void
  close(): Promise<void>
}

/**
 * Starts components in order and closes them in reverse. On the first SIGTERM or SIGINT every
 * component drains (readiness goes 503), then each closes, last started first; a second signal
 * exits at once.
 */
export class Supervisor {
  readonly #log: Logger
  readonly #started: Component[] = []
  #stopping: Promise<void> | undefined
  #onSignal: ((signal: NodeJS.Signals) => void) | undefined

  constructor(logger: Logger) {
    this.#log = logger.child({ component: 'supervisor' })
  }

  /** Starts each component in turn; if one fails, closes those already started and rethrows. */
  async start(components: readonly Component[]): Promise<void> {
    for (const component of components) {
      try {
        await component.start()
      } catch (error) {
        this.#log.error({ err: error, failed: component.name }, 'start-up failed')
        await this.stop('start-up failed')
        throw error
      }
      this.#started.push(component)
    }
  }

  /** Drains, then closes everything started, in reverse order. Idempotent. */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason)
    return this.#stopping
  }

  /** Stops on SIGTERM/SIGINT; resolves once stopped. A second signal exits immediately. */
  stopOnSignals(): Promise<void> {
    return new Promise((resolve) => {
      this.#onSignal = (signal) => {
        if (this.#stopping) {
          this.#log.warn({ signal }, 'second signal: exiting now')
          process.exit(signal === 'SIGINT' ? 130 : 143)
        }
        this.stop(signal).then(resolve, (error: unknown) => {
          this.#log.error({ err: error }, 'shutdown failed')
          process.exitCode = 1
          resolve()
        })
      }
      process.on('SIGTERM', this.#onSignal)
      process.on('SIGINT', this.#onSignal)
    })
  }

  async #stop(reason: string): Promise<void> {
    this.#log.info({ reason }, 'shutting down')
    for (const component of this.#started) component.drain?.()
    let failure: unknown
    for (const component of this.#started.toReversed()) {
      try {
        await component.close()
      } catch (error) {
        this.#log.error({ err: error, component: component.name }, 'close failed')
        failure ??= error
      }
    }
    if (this.#onSignal) {
      // Registered until now so that a second signal during close exits at once.
      process.off('SIGINT', this.#onSignal)
      process.off('SIGTERM', this.#onSignal)
    }
    this.#log.info('stopped')
    if (failure !== undefined) throw failure
  }
}
