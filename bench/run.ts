/**
 * `npm run bench [-- SUITE…]`: runs the benchmark suites in bench/ (files named
 * `<suite>.bench.ts`), each in its own process so that one suite's heap and threads do not
 * colour the next. With no names, runs them all.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const available = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .map((name) => name.slice(0, -'.bench.ts'.length))
  .sort()

const requested = process.argv.slice(2)
const unknown = requested.filter((name) => !available.includes(name))
if (unknown.length > 0) {
  console.error(
    `unknown benchmark suite: ${unknown.join(', ')}; available: ${available.join(', ') || 'none'}`,
  )
  process.exit(2)
}

let failed = false
for (const suite of requested.length > 0 ? requested : available) {
  console.log(`\n# ${suite}`)
  const run = spawnSync(process.execPath, [`${dir}${suite}.bench.ts`], { stdio: 'inherit' })
  if (run.status !== 0) failed = true
}
process.exitCode = failed ? 1 : 0
