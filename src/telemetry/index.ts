/** Logging and metrics shared by every component. */
export { createLogger, type Logger, type LoggerOptions } from './logger.ts'
export {
  Counter,
  createMetricsRegistry,
  Gauge,
  Histogram,
  httpRequestDuration,
  Registry,
  taskDuration,
} from './metrics.ts'
