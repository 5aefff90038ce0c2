import { bandProbes, bandsOf, hammingDistance } from '../meta/index.ts'

export interface ClusterMember {
  name: string
  sha256: string
  size: number
  phash: string
}

/**
 * Groups images whose pHashes are within `distance` bits, transitively (single linkage): the
 * connected components of the "near" graph, found with a multi-index of the hashes' four bands
 * held in memory, so each image is compared with its candidates only. Clusters of one are left
 * out; members keep the input's order, clusters are largest first.
 */
export function duplicateClusters<T extends ClusterMember>(
  images: readonly T[],
  distance: number,
): T[][] {
  const flips = Math.floor(distance / 4)
  const index = [
    new Map<number, number[]>(),
    new Map<number, number[]>(),
    new Map<number, number[]>(),
    new Map<number, number[]>(),
  ]
  const parent = images.map((_, i) => i)
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!
      i = parent[i]!
    }
    return i
  }
  images.forEach((image, i) => {
    const bands = bandsOf(image.phash)
    const seen = new Set<number>()
    bands.forEach((band, b) => {
      for (const probe of bandProbes(band, flips)) {
        for (const j of index[b]!.get(probe) ?? []) {
          if (seen.has(j)) continue
          seen.add(j)
          if (hammingDistance(image.phash, images[j]!.phash) <= distance) parent[root(i)] = root(j)
        }
      }
    })
    bands.forEach((band, b) => {
      const list = index[b]!.get(band)
      if (list) list.push(i)
      else index[b]!.set(band, [i])
    })
  })
  const groups = new Map<number, T[]>()
  images.forEach((image, i) => {
    const r = root(i)
    const group = groups.get(r)
    if (group) group.push(image)
    else groups.set(r, [image])
  })
  return [...groups.values()].filter((g) => g.length > 1).sort((a, b) => b.length - a.length)
}
