/** Usage statistics: counters and latency sketches kept from the event history. */
export { StatsError, type StatsErrorCode } from './errors.ts'
export { quantiles, sketchWith } from './latency-sketch.ts'
export { STATS_CURSOR, UsageAggregator, type UsageAggregatorOptions } from './usage-aggregator.ts'
export {
  PLAIN_COUNTS,
  parseUsageParams,
  USAGE_RETENTION_MS,
  type UsageParams,
  usageReport,
} from './usage-report.ts'
