/**
 * Health as orchestrators read it: `/livez` says the process runs, `/readyz` whether it should
 * get traffic (503 once shutdown has begun, so a load balancer stops sending before we stop
 * accepting; and, checked by the gateway, while a dependency does not answer:
 * `{"status": "unready", "failing": [...]}`), `/healthz` the combined status for humans and
 * simple probes.
 */
export interface HealthState {
  draining: boolean
}

export interface HealthResponse {
  status: number
  body: { status: 'ok' | 'draining' }
}

export function healthResponse(path: string, state: HealthState): HealthResponse | undefined {
  switch (path) {
    case '/livez':
      return { status: 200, body: { status: 'ok' } }
    case '/healthz':
    case '/readyz':
      return state.draining
        ? { status: 503, body: { status: 'draining' } }
        : { status: 200, body: { status: 'ok' } }
    default:
      return undefined
  }
}
