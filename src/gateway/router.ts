import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../telemetry/index.ts'
import { HttpError } from './errors.ts'

/** What a route handler gets: the exchange, the parsed URL and the path's tail, if any. */
export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** The percent-decoded rest of the path after a `/*` pattern's prefix. */
  tail: string
  log: Logger
}

export type Handler = (ctx: RequestContext) => Promise<void>

interface Route {
  method: string
  path: string
  /** `/v1/files/*` matches the prefix and hands the rest to the handler as `tail`. */
  prefix: boolean
  handler: Handler
}

/** Routes by method and path; a path matched with another method is 405 with `Allow`. */
export class Router {
  readonly #routes: Route[] = []

  on(method: string, pattern: string, handler: Handler): this {
    const prefix = pattern.endsWith('/*')
    this.#routes.push({ method, path: prefix ? pattern.slice(0, -1) : pattern, prefix, handler })
    return this
  }

  /** Every route as registered (`/v1/files/*` for a prefix route): for the API's description. */
  list(): { method: string; pattern: string }[] {
    return this.#routes.map((r) => ({
      method: r.method,
      pattern: r.prefix ? `${r.path}*` : r.path,
    }))
  }

  /** The handler and path tail for a request, or an `HttpError` (404, 405, 400). */
  match(method: string, pathname: string): { handler: Handler; tail: string; route: string } {
    const candidates = this.#routes.filter((r) =>
      r.prefix
        ? pathname.startsWith(r.path) && pathname.length > r.path.length
        : pathname === r.path,
    )
    if (candidates.length === 0) {
      throw new HttpError(404, 'E_NOT_FOUND', `no route for ${method} ${pathname}`)
    }
    const route =
      candidates.find((r) => r.method === method) ??
      (method === 'HEAD' ? candidates.find((r) => r.method === 'GET') : undefined)
    if (!route) {
      const allow = [...new Set(candidates.map((r) => r.method))].join(', ')
      throw Object.assign(
        new HttpError(
          405,
          'E_METHOD',
          `${method} is not allowed on ${pathname} (allowed: ${allow})`,
        ),
        { allow },
      )
    }
    let tail = ''
    if (route.prefix) {
      try {
        tail = decodeURIComponent(pathname.slice(route.path.length))
      } catch (error) {
        throw new HttpError(400, 'E_BAD_REQUEST', 'the path has invalid percent-encoding', {
          cause: error,
        })
      }
    }
    return { handler: route.handler, tail, route: route.prefix ? `${route.path}*` : route.path }
  }
}
