/** A storage node's lifecycle: placed (`up`, `down` when its heartbeats stop), `draining` (no
 * new copies; repair moves its copies away), `removed` (forgotten by placement and reads). */
export type StorageNodeState = 'up' | 'down' | 'draining' | 'removed'

export interface StorageNodeRecord {
  id: string
  address: string
  state: StorageNodeState
  capacity: number
  used: number
  free: number
  /** Milliseconds since the epoch of the last heartbeat answered (or of the add). */
  lastSeen: number
  created: number
}

/**
 * The storage node registry port: the nodes a `nodes://registry` store places blobs on. Split
 * from `MetaStore`; the SQL adapters keep it in the same database.
 */
export interface NodeRegistry {
  listStorageNodes(): Promise<StorageNodeRecord[]>
  /** Adds the node, or updates its address and figures (its state only when `state` is given). */
  saveStorageNode(
    node: Omit<StorageNodeRecord, 'created' | 'state'> & { state?: StorageNodeState },
  ): Promise<StorageNodeRecord>
  /** Sets a node's state; false when there is no such node. */
  setStorageNodeState(id: string, state: StorageNodeState): Promise<boolean>
}
