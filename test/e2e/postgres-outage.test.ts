import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startPiper } from '../helpers/piper-server.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'

after(dropTestSchemas)

it('PostgreSQL going away answers 503 E_META_UNAVAILABLE, keeps the process up, and recovers', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  let proxy = await TcpProxy.start(POSTGRES.port)
  const port = proxy.port
  const url = new URL(freshPostgresUrl())
  url.port = String(port)
  const piper = await startPiper(['--meta', url.href, '--circuit-reset-ms', '300'])
  const metaCircuit = async () =>
    /piper_dependency_circuit_state\{dependency="meta"\} (\d)/.exec(
      await (await fetch(`${piper.url}/metrics`)).text(),
    )?.[1]
  try {
    const put = await fetch(`${piper.url}/v1/files/a.txt`, { method: 'PUT', body: 'before' })
    assert.equal(put.status, 201)
    // Scraped before the outage (as Prometheus does), /metrics stays readable during it.
    assert.equal(await metaCircuit(), '0')

    await proxy.close()
    for (const request of [
      () => fetch(`${piper.url}/v1/files`),
      () => fetch(`${piper.url}/v1/files/a.txt`),
      () => fetch(`${piper.url}/v1/files/b.txt`, { method: 'PUT', body: 'during' }),
    ]) {
      const res = await request()
      const body = (await res.json()) as { error: { code: string; message: string } }
      assert.equal(res.status, 503, JSON.stringify(body))
      assert.equal(body.error.code, 'E_META_UNAVAILABLE')
      assert.doesNotMatch(body.error.message, /127\.0\.0\.1/, 'internals stay in the log')
    }
    assert.equal(piper.child.exitCode, null)
    // Calls that get no answer open the circuit (the process's own background queries count
    // too); then calls fail at once, and /readyz names the store.
    for (let i = 0; (await metaCircuit()) !== '1'; i++) {
      assert.ok(i < 20, 'five calls in a row without an answer open it')
      assert.equal((await fetch(`${piper.url}/v1/files`)).status, 503)
    }
    const open = await fetch(`${piper.url}/v1/files/a.txt`)
    assert.equal(open.status, 503)
    assert.equal(
      ((await open.json()) as { error: { code: string } }).error.code,
      'E_META_UNAVAILABLE',
    )
    const unready = await fetch(`${piper.url}/readyz`)
    assert.equal(unready.status, 503)
    assert.ok(((await unready.json()) as { failing: string[] }).failing.includes('meta'))
    assert.match(piper.output(), /"dependency":"meta","state":"open"/)

    proxy = await TcpProxy.start(POSTGRES.port, port)
    let res = await fetch(`${piper.url}/v1/files/a.txt`)
    // The pool reconnects on its next query: wait for that, not for a time.
    while (res.status === 503) {
      await sleep(50)
      res = await fetch(`${piper.url}/v1/files/a.txt`)
    }
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'before')
    assert.equal(await metaCircuit(), '0', 'the call that went through closed it')
  } finally {
    await piper.stop()
    await proxy.close()
  }
})
