import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

/**
 * The packages a `piper` command loads, read from a resolve hook in a child process: what a
 * command does not use must not cost its start-up (the queue, the stores and their libraries
 * were ~200 ms of every command's).
 */
async function packagesLoadedBy(args: string[]): Promise<Set<string>> {
  const script = `
    import module from 'node:module'
    const seen = new Set()
    module.registerHooks({
      resolve(specifier, context, next) {
        if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:'))
          seen.add(specifier)
        return next(specifier, context)
      },
    })
    const { main } = await import(${JSON.stringify(new URL('../../src/cli/index.ts', import.meta.url).href)})
    await main(${JSON.stringify(args)})
    process.stderr.write(JSON.stringify([...seen]))
  `
  const { stderr } = await promisify(execFile)(process.execPath, [
    '--input-type=module',
    '-e',
    script,
  ])
  return new Set(JSON.parse(stderr.slice(stderr.lastIndexOf('['))) as string[])
}

test('piper --version and piper compress load neither the queue nor the stores', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-start-up-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const input = join(dir, 'hello.txt')
  await writeFile(input, 'hello\n')
  for (const args of [['--version'], ['compress', input, '-o', `${input}.gz`, '--force']]) {
    const loaded = await packagesLoadedBy(args)
    assert.ok(loaded.has('commander'), `${args[0]}: the hook saw the command parser`)
    for (const heavy of ['ws', 'ajv', 'pg', 'busboy', 'pino', '@nats-io/transport-node']) {
      assert.ok(!loaded.has(heavy), `${args[0]} loaded ${heavy}`)
    }
  }
})
