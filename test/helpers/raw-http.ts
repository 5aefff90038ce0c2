import { connect } from 'node:net'

/** An HTTP/1.1 answer as it came off the wire. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** The bytes exactly as received. */
  raw: string
}

const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/

/**
 * Sends `bytes` as they are over a fresh TCP connection and resolves with everything the
 * server sent until it closed (an event stream: until its headers). For requests no HTTP
 * client would send.
 */
export function rawExchange(url: string, bytes: string | Uint8Array): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    const pieces: Buffer[] = []
    socket.on('data', (piece: Buffer) => {
      pieces.push(piece)
      // An event stream never ends by itself: its status and headers are the answer.
      const sofar = Buffer.concat(pieces).toString('latin1')
      const end = sofar.indexOf('\r\n\r\n')
      if (end >= 0 && /\r\ncontent-type: text\/event-stream/i.test(sofar.slice(0, end))) {
        socket.destroy()
        resolve(sofar)
      }
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // A server may reset a connection it refused; what it sent before counts.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE')
        resolve(Buffer.concat(pieces).toString('latin1'))
      else reject(error)
    })
    socket.once('close', () => resolve(Buffer.concat(pieces).toString('latin1')))
    // Not half-closed: a client that ends its side early may lose the answer (Node then
    // closes once the response is written); the request says `Connection: close` instead.
    socket.write(bytes)
  })
}

/**
 * Parses the first response of `raw` (throws when it is not well-formed HTTP/1.1); the answer
 * to a HEAD has no body whatever its Content-Length says (RFC 9110 §9.3.2).
 */
export function parseResponse(raw: string, head = false): RawResponse {
  const status = STATUS_LINE.exec(raw)
  if (!status) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(raw.slice(0, 80))}`)
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`headers never end: ${JSON.stringify(raw.slice(0, 200))}`)
  const headers: Record<string, string> = {}
  for (const line of raw.slice(status[0].length, end).split('\r\n')) {
    if (line === '') continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`)
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = raw.slice(end + 4)
  const length = headers['content-length']
  if (head) body = ''
  else if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new Error(`bad content-length ${length}`)
    if (Buffer.byteLength(body, 'latin1') < Number(length)) {
      throw new Error(`short body: ${Buffer.byteLength(body, 'latin1')} of ${length} bytes`)
    }
    body = body.slice(0, Number(length))
  }
  return { status: Number(status[1]), headers, body, raw }
}

/** Sends a request built from parts and parses the answer. */
export async function rawRequest(
  url: string,
  request: { method?: string; target: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const { host } = new URL(url)
  const headers: Record<string, string> = { host, connection: 'close', ...request.headers }
  if (request.body !== undefined)
    headers['content-length'] ??= String(Buffer.byteLength(request.body))
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  return parseResponse(
    await rawExchange(
      url,
      `${request.method ?? 'GET'} ${request.target} HTTP/1.1\r\n${head}\r\n${request.body ?? ''}`,
    ),
  )
}
