import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * A process's metrics registry (Prometheus text format at `/metrics`), with Node's runtime
 * metrics (event loop lag, heap, GC, CPU, file descriptors) under their `prom-client` names.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

/** HTTP requests served: the histogram's `_count` is the request count by route and status. */
export function httpRequestDuration(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  return new Histogram({
    name: 'piper_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern and status, with their duration (to the last byte sent)',
    labelNames: ['method', 'route', 'status'],
    // From a cached HEAD to a large upload.
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 300],
    registers: [registry],
  })
}
