import { connect } from 'node:net'
import type { TestContext } from 'node:test'

/** A server some tests need: PostgreSQL, NATS, Redis. */
export interface ServerAddress {
  name: string
  host: string
  port: number
  /** The command that starts it on this machine (see DEVELOPERS.md). */
  howToStart: string
}

export const POSTGRES: ServerAddress = {
  name: 'PostgreSQL',
  host: '127.0.0.1',
  port: 5432,
  howToStart: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
}

export const NATS: ServerAddress = {
  name: 'NATS JetStream',
  host: '127.0.0.1',
  port: 4222,
  howToStart: 'see DEVELOPERS.md, "Services"',
}

/** Whether something accepts TCP connections at the address within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Returns whether the server is up. When it is not, the test is skipped with a message
 * locally and fails under `CI=true`, where every server must be present.
 */
export async function requireServer(
  t: TestContext,
  server: ServerAddress,
  env: Record<string, string | undefined> = process.env,
): Promise<boolean> {
  if (await isListening(server.host, server.port)) return true
  const message = `${server.name} is not answering at ${server.host}:${server.port} (start it: ${server.howToStart})`
  if (env.CI === 'true') throw new Error(message)
  t.skip(message)
  return false
}

/** The S3-compatible server of the tests: OpenStack Swift with s3api (scripts/services/swift-s3.sh). */
export const S3: ServerAddress = {
  name: 'S3 (Swift s3api)',
  host: '127.0.0.1',
  port: 9480,
  howToStart: 'bash scripts/services/swift-s3.sh',
}

/** How the tests reach it: endpoint and the key scripts/services/swift-s3.sh creates. */
export const S3_ACCESS = {
  endpoint: 'http://127.0.0.1:9480',
  region: 'us-east-1',
  credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
}
