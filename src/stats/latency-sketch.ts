import { DDSketch } from '@datadog/sketches-js'

/** Relative accuracy of every latency sketch: a reported p99 is within 1% of the true one. */
const ACCURACY = 0.01

/** A stored sketch (or a new one) with `values` added, serialized again (DDSketch protobuf). */
export function sketchWith(stored: Uint8Array | undefined, values: readonly number[]): Uint8Array {
  const sketch = stored ? DDSketch.fromProto(stored) : new DDSketch({ relativeAccuracy: ACCURACY })
  for (const value of values) sketch.accept(Math.max(0, value))
  return sketch.toProto()
}

/** Merges stored sketches; the count and the quantiles asked for, or undefined when empty. */
export function quantiles(
  stored: readonly Uint8Array[],
  qs: readonly number[],
): { count: number; values: number[] } | undefined {
  const sketch = new DDSketch({ relativeAccuracy: ACCURACY })
  for (const bytes of stored) sketch.merge(DDSketch.fromProto(bytes))
  if (sketch.count === 0) return undefined
  return { count: sketch.count, values: qs.map((q) => sketch.getValueAtQuantile(q)) }
}
