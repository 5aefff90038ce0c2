import { Counter, Gauge, type Registry } from '../telemetry/index.ts'
import type { NodesBlobStore } from './nodes-blob-store.ts'

/**
 * A `nodes://` store's figures in a process's metrics: degraded reads (a copy or shard was
 * missing or damaged and another served), and the nodes placement knows by state. Read from
 * the store when scraped.
 */
export function storageMetrics(registry: Registry, store: NodesBlobStore): void {
  const degraded = new Counter({
    name: 'piper_storage_degraded_reads_total',
    help: 'Reads of nodes:// blobs that found a copy or shard missing or damaged and used another',
    registers: [registry],
    collect() {
      degraded.reset()
      degraded.inc(store.degradedReads)
    },
  })
  const nodes = new Gauge({
    name: 'piper_storage_nodes',
    help: 'Storage nodes placement knows, by state (up, down, draining)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      nodes.reset()
      for (const state of ['up', 'down', 'draining'] as const) nodes.set({ state }, 0)
      for (const state of store.nodeStates()) nodes.inc({ state })
    },
  })
}
