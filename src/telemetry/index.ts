/** Logging, metrics and tracing shared by every component. */
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
export {
  activeTraceIds,
  contextFrom,
  inSpan,
  SpanKind,
  startTracing,
  traceHeaders,
  tracer,
  tracingWanted,
} from './tracing.ts'
