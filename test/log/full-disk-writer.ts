// A producer for the full-disk test, run under `ulimit -f` (Node ignores SIGXFSZ, so a write
// past the limit fails with EFBIG as on a full disk). Appends small records, then one too big
// to fit, then small ones again; prints `ok OFFSET N` for each confirmed append and
// `fail N CODE` for each refused one, where N is the record's own number in the payload.
import { Log } from '../../src/log/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const [dir, fsync] = process.argv.slice(2) as [string, 'always' | 'interval']
const log = await Log.open({
  dir,
  fsync: fsync === 'always' ? { kind: 'always' } : { kind: 'interval', ms: 20 },
  logger: createLogger({ level: 'silent' }),
  snapshotEveryMs: 0,
})
const sizes = [...Array(40).fill(1000), 40_000, ...Array(10).fill(100)]
for (const [n, size] of sizes.entries()) {
  const payload = Buffer.alloc(size, `record ${n};`)
  try {
    const offset = await log.append(payload, { headers: { n: String(n) } })
    process.stdout.write(`ok ${offset} ${n}\n`)
  } catch (error) {
    process.stdout.write(`fail ${n} ${(error as { code?: string }).code}\n`)
  }
}
await log.close().catch(() => {})
