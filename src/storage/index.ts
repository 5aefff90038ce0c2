/** Storage nodes and the `nodes://` blob store: placement, erasure coding, the node server. */
export { NodeClient } from './node-client.ts'
export { MAX_NODE_BLOB, StorageNode, type StorageNodeOptions } from './node-server.ts'
export {
  type NodeStatus,
  NodesBlobStore,
  type NodesBlobStoreOptions,
  nodesOptionsFromUrl,
  noRepairs,
  type Redundancy,
  type RepairResult,
  type RepairTotals,
} from './nodes-blob-store.ts'
export { gfInv, gfMul, invert, ReedSolomon } from './reed-solomon.ts'
export { registerNode } from './register-node.ts'
export { type PlacementNode, rank } from './rendezvous.ts'
export { storageMetrics } from './storage-metrics.ts'
export { TieredBlobStore, type TieredBlobStoreOptions } from './tiered-blob-store.ts'
