/** Logging (and later metrics and tracing) shared by every component. */
export { createLogger, type Logger, type LoggerOptions } from './logger.ts'
