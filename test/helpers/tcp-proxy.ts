import { createServer, type Server, Socket } from 'node:net'

/** A TCP proxy to a port, whose connections a test can cut (a network failure, both ways). */
export class TcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Bytes from clients still allowed through before every connection is cut (once). */
  #cutAfter = Number.POSITIVE_INFINITY

  private constructor(server: Server) {
    this.#server = server
  }

  /** Listens on `listenPort` (a free one by default; the same one again to come back). */
  static async start(targetPort: number, listenPort = 0): Promise<TcpProxy> {
    const server = createServer()
    const proxy = new TcpProxy(server)
    server.on('connection', (client) => {
      const upstream = new Socket()
      proxy.#track(client)
      proxy.#track(upstream)
      upstream.connect(targetPort, '127.0.0.1')
      client.on('data', (data: Buffer) => {
        proxy.#cutAfter -= data.length
        if (proxy.#cutAfter <= 0) {
          proxy.#cutAfter = Number.POSITIVE_INFINITY
          proxy.cut()
        }
      })
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve))
    return proxy
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port
  }

  /** Cuts every connection once clients have sent `bytes` more through it (a cut mid-request). */
  cutAfter(bytes: number): void {
    this.#cutAfter = bytes
  }

  /** Cuts every connection now (the proxy keeps accepting new ones). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy()
  }

  /** Cuts every connection and refuses new ones (the peer is down). */
  async close(): Promise<void> {
    this.cut()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
  }
}
