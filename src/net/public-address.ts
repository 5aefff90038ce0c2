import { BlockList, isIP } from 'node:net'

/**
 * Addresses that are not on the public internet: this host, private networks (RFC 1918, RFC
 * 4193), link-local (cloud metadata services answer at 169.254.169.254), shared address space
 * (RFC 6598), documentation, benchmarking, multicast and reserved ranges (RFC 6890).
 */
const NOT_PUBLIC = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6')
}

/** Whether `address` (an IP) is on the public internet; an IPv4-mapped IPv6 address as its IPv4. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  if (family === 0) return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4')
  // Other IPv4-in-IPv6 forms (::ffff:7f00:1, ::127.0.0.1) are refused rather than decoded.
  if (family === 6 && /^::(ffff:)?[0-9a-f]{1,4}:[0-9a-f]{1,4}$|^::\d/i.test(bare)) return false
  return !NOT_PUBLIC.check(bare, family === 4 ? 'ipv4' : 'ipv6')
}
