import type { NodeRegistry, StorageNodeRecord } from '../meta/index.ts'
import { NodeClient } from './node-client.ts'

/**
 * Registers the storage node answering at `address` (or updates it): asks it for its id and
 * figures first, so only a running node with the right token joins. Throws `E_BLOB_UNAVAILABLE`
 * when none answers there.
 */
export async function registerNode(
  registry: NodeRegistry,
  address: string,
  token: string | undefined,
): Promise<StorageNodeRecord> {
  const figures = await new NodeClient(address, token).describe()
  return registry.saveStorageNode({
    id: figures.id,
    address,
    capacity: figures.capacity,
    used: figures.used,
    free: figures.free,
    lastSeen: Date.now(),
    state: 'up',
  })
}
