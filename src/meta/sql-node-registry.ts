import type { NodeRegistry, StorageNodeRecord, StorageNodeState } from './node-registry.ts'
import type { Row, SqlDriver } from './sql-driver.ts'

// The storage node registry on SQL (`NodeRegistry`), for SQLite and PostgreSQL alike.

function nodeFromRow(row: Row): StorageNodeRecord {
  return {
    id: String(row.id),
    address: String(row.address),
    state: String(row.state) as StorageNodeState,
    capacity: Number(row.capacity),
    used: Number(row.used),
    free: Number(row.free),
    lastSeen: Number(row.last_seen),
    created: Number(row.created),
  }
}

export async function listStorageNodes(driver: SqlDriver): Promise<StorageNodeRecord[]> {
  return (await driver.all('SELECT * FROM storage_nodes ORDER BY id')).map(nodeFromRow)
}

export async function saveStorageNode(
  driver: SqlDriver,
  node: Parameters<NodeRegistry['saveStorageNode']>[0],
): Promise<StorageNodeRecord> {
  const now = Date.now()
  await driver.run(
    `INSERT INTO storage_nodes (id, address, state, capacity, used, free, last_seen, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET address = excluded.address, capacity = excluded.capacity,
       used = excluded.used, free = excluded.free, last_seen = excluded.last_seen
       ${node.state ? ', state = excluded.state' : ''}`,
    [
      node.id,
      node.address,
      node.state ?? 'up',
      node.capacity,
      node.used,
      node.free,
      node.lastSeen,
      now,
    ],
  )
  const [row] = await driver.all('SELECT * FROM storage_nodes WHERE id = $1', [node.id])
  return nodeFromRow(row!)
}

export async function setStorageNodeState(
  driver: SqlDriver,
  id: string,
  state: StorageNodeState,
): Promise<boolean> {
  return (await driver.run('UPDATE storage_nodes SET state = $2 WHERE id = $1', [id, state])) > 0
}
