import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'

/** The tracer Piper's spans come from; a no-op until `startTracing` installs a provider. */
export const tracer = trace.getTracer('piper')

/**
 * Whether the standard variables ask for traces: an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `…_TRACES_ENDPOINT`), the SDK is not disabled
 * (`OTEL_SDK_DISABLED`) and `OTEL_TRACES_EXPORTER` is not `none`.
 */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

/**
 * Installs the OpenTelemetry SDK for this process when the `OTEL_*` variables ask for it: spans
 * batched to the OTLP/HTTP endpoint they name, W3C trace context propagation, the context kept
 * across awaits. `close()` flushes what is buffered. Off (every span a no-op) otherwise.
 */
export function startTracing(serviceName: string): { close(): Promise<void> } | undefined {
  if (!tracingWanted()) return undefined
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME ?? serviceName,
    }),
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  return { close: () => provider.shutdown() }
}

/** The trace context of `carrier` (HTTP or queue message headers), as W3C `traceparent` says. */
export function contextFrom(carrier: Readonly<Record<string, unknown>>): Context {
  return propagation.extract(context.active(), carrier)
}

/** The current trace context as headers to send along (`traceparent`, `tracestate`). */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {}
  propagation.inject(context.active(), headers)
  return headers
}

/** The ids of the active span, for log lines; none outside a trace. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan()
  if (!span?.isRecording()) return undefined
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}

/**
 * Runs `fn` in a span (a child of `parent`, else of the active span), ending it when `fn`
 * settles and marking it failed when `fn` throws.
 */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span)
      } catch (error) {
        span.recordException(error as Error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message })
        throw error
      } finally {
        span.end()
      }
    },
  )
}

export { SpanKind }
