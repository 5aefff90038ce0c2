/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id: string | undefined
  event: string
  data: string
}

/**
 * Parses a `text/event-stream` body (HTML Living Standard §9.2.6) from pieces cut anywhere,
 * even inside a UTF-8 sequence or between CR and LF. Comments and `retry:` are skipped;
 * an event without data is not dispatched.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffered = ''
  let id: string | undefined
  let event = ''
  let data: string[] = []
  let lastId: string | undefined
  const flush = (text: string, final: boolean) => {
    const out: SseEvent[] = []
    buffered += text
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffered)
      // A trailing CR may be the first half of CRLF: wait for the next piece unless at the end.
      if (!match || (match[0] === '\r' && match.index === buffered.length - 1 && !final)) break
      const line = buffered.slice(0, match.index)
      buffered = buffered.slice(match.index + match[0].length)
      if (line === '') {
        if (data.length > 0)
          out.push({ id: id ?? lastId, event: event || 'message', data: data.join('\n') })
        if (id !== undefined) lastId = id
        id = undefined
        event = ''
        data = []
        continue
      }
      const colon = line.indexOf(':')
      if (colon === 0) continue
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') data.push(value)
      else if (field === 'event') event = value
      else if (field === 'id' && !value.includes('\0')) id = value
    }
    return out
  }
  for await (const piece of body) yield* flush(decoder.decode(piece, { stream: true }), false)
  yield* flush(decoder.decode(), true)
}
