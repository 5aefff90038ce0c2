/** Small network facts shared by the servers (gateway, queue server). */
export { isLoopback } from './loopback.ts'
