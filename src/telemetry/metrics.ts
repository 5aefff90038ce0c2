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

/**
 * Queue tasks a worker settled, by topic and outcome (`ok`, `retried`, `failed`), with how long
 * each ran: the `_count` is tasks done, the `_sum` time spent. One per registry, shared by every
 * runtime of the process.
 */
export function taskDuration(registry: Registry): Histogram<'topic' | 'outcome'> {
  const name = 'piper_worker_task_duration_seconds'
  return (
    (registry.getSingleMetric(name) as Histogram<'topic' | 'outcome'> | undefined) ??
    new Histogram({
      name,
      help: 'Queue tasks settled by this worker, by topic and outcome (ok, retried, failed), with their duration',
      labelNames: ['topic', 'outcome'],
      buckets: [0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 600],
      registers: [registry],
    })
  )
}
