import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { TestContext } from 'node:test'

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by openssl in `dir`: its PEM
 * paths, or undefined (the test skipped) when openssl is missing — a failure under CI=true.
 */
export function makeCertificate(
  t: TestContext,
  dir: string,
): { cert: string; key: string } | undefined {
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
  const made = spawnSync('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
  ])
  if (made.status === 0) return { cert, key }
  if (process.env.CI === 'true') assert.fail(`openssl could not make a certificate: ${made.stderr}`)
  t.skip('openssl is not available')
  return undefined
}
