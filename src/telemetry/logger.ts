import { type DestinationStream, type Logger, pino } from 'pino'
import pretty from 'pino-pretty'
import type { LogLevel } from '../config/index.ts'
import { activeTraceIds } from './tracing.ts'

export type { Logger }

export interface LoggerOptions {
  level: LogLevel
  /** Human-readable lines instead of JSON; defaults to whether stderr is a terminal. */
  pretty?: boolean
  /** Where lines go; defaults to stderr: stdout is for a command's data. */
  destination?: DestinationStream
}

/**
 * The one root logger of a process. Components receive child loggers carrying their name and,
 * per request or job, the job, upload and trace ids.
 */
export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stderr.isTTY === true
  const destination =
    options.destination ??
    (usePretty
      ? pretty({
          colorize: true,
          sync: true,
          destination: 2,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : pino.destination({ dest: 2, sync: true }))
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Inside a trace (tracing on), each line says which: trace_id and span_id.
      mixin: () => activeTraceIds() ?? {},
    },
    destination,
  )
}
