import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * The ports the kernel hands out for outgoing connections and `listen(0)` (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range). A port chosen inside it can be taken by any client
 * socket between our check and the server's bind, so ports are chosen below it.
 */
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    const start = Number(low)
    return Number.isInteger(start) && start > 12_000 ? start : 32_768
  } catch {
    return 32_768
  }
}

const FIRST = 10_000
const LAST = ephemeralStart() - 1

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A TCP port free on loopback right now (for a server started by another process): a random
 * one below the ephemeral range, so no client socket of this machine takes it meanwhile.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST))
    if (await listenable(port)) return port
  }
  throw new Error(`no free port found between ${FIRST} and ${LAST}`)
}
