/** Small network facts shared by the servers (gateway, queue server) and outgoing calls. */
export { isLoopback } from './loopback.ts'
export { isPublicAddress } from './public-address.ts'
