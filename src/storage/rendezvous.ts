import { createHash } from 'node:crypto'

/** A node as placement sees it: a stable name and a weight (relative capacity). */
export interface PlacementNode {
  name: string
  weight: number
}

/**
 * Weighted rendezvous (highest random weight) hashing: every node gets a score for the key,
 * −weight / ln(u) with u the node-and-key hash mapped into (0, 1) (Schindelhauer & Schomaker,
 * "Weighted distributed hash tables", SPAA 2005), and the key lives on the highest scores. Any
 * process ranks the same way without a lookup; a node's share of keys is its weight over the
 * total; adding a node moves only the keys it now wins, and removing one only the keys it held.
 */
export function rank<T extends PlacementNode>(key: string, nodes: readonly T[]): T[] {
  return nodes
    .map((node) => ({ node, score: score(node, key) }))
    .sort((a, b) => b.score - a.score || (a.node.name < b.node.name ? -1 : 1))
    .map((entry) => entry.node)
}

function score(node: PlacementNode, key: string): number {
  const digest = createHash('sha256').update(node.name).update('\0').update(key).digest()
  // 52 bits of the hash, as (0, 1): never 0 (log of 0) nor 1 (division by 0).
  const u = (Number(digest.readBigUInt64BE(0) >> 12n) + 0.5) / 2 ** 52
  return -node.weight / Math.log(u)
}
