/** Small network facts shared by the servers (gateway, queue server) and outgoing calls. */
export { type BreakerPolicy, Breakers } from './breakers.ts'
export {
  type BreakerState,
  DependencyBreaker,
  type DependencyBreakerOptions,
} from './dependency-breaker.ts'
export { inLanes } from './in-lanes.ts'
export { isLoopback } from './loopback.ts'
export { isPublicAddress } from './public-address.ts'
