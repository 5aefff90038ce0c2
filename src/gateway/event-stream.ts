import type { IncomingMessage, ServerResponse } from 'node:http'
import { eventJson, isTerminal, type JobEventFeed } from '../jobs/index.ts'
import type { JobEvent, JobState } from '../meta/index.ts'
import type { RoutePolicy } from './server.ts'
import { lastEventId, SseStream } from './sse.ts'

export interface FollowOptions {
  req: IncomingMessage
  res: ServerResponse
  policy: RoutePolicy
  feed: JobEventFeed
  shutdown: AbortSignal
  client: string
  /** One job's or run's events; all of the client's when absent. */
  id?: string
  /** Where to start when the request has no `Last-Event-ID`. */
  after: number
  /** Whether the job or run has ended: its backlog is all there will be. */
  ended: boolean
  /** Whether an event is the last of the stream. */
  isLast?: (event: JobEvent) => boolean
}

/**
 * The events of one job or run (`id`, now in `state`): all of them after `Last-Event-ID`, then,
 * unless it has ended already, live until its last state change; the stream then ends.
 */
export function followToEnd(
  o: Omit<FollowOptions, 'id' | 'after' | 'ended' | 'isLast'>,
  id: string,
  state: JobState,
): Promise<void> {
  return followEvents({
    ...o,
    id,
    after: 0,
    ended: isTerminal(state),
    isLast: (event) => event.type === 'state' && isTerminal(event.data.state as JobState),
  })
}

/**
 * Streams events as Server-Sent Events until the last one (or, for `/v1/events`, until the
 * client or the gateway goes), resuming after `Last-Event-ID` without gaps. Holds one of the
 * client's event-stream slots while open.
 */
export async function followEvents(o: FollowOptions): Promise<void> {
  o.res.once('close', o.policy.streams.take(o.client))
  const stream = new SseStream(o.req, o.res, o.shutdown)
  const query = { clientId: o.client, jobId: o.id, after: lastEventId(o.req) ?? o.after }
  const events = o.ended
    ? o.feed.backlog(query)
    : o.feed.subscribe({ ...query, signal: stream.signal })
  try {
    for await (const event of events) {
      await stream.send(event.id, event.type, eventJson(event))
      if (o.isLast?.(event)) return
    }
  } finally {
    stream.end()
  }
}
