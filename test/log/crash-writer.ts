// A producer for the crash test: appends with fsync=always, 8 at a time, printing each offset
// once its append resolved (confirmed). Killed with SIGKILL at a random moment by the test.
import { Log } from '../../src/log/index.ts'
import { crashLogOptions, crashPayload } from './crash-options.ts'

const log = await Log.open(crashLogOptions(process.argv[2]!, 50))
const payloadOf = (n: number) => Buffer.from(crashPayload(n))
async function producer(): Promise<void> {
  for (;;) {
    const expected = log.nextOffset
    const offset = await log.append(payloadOf(expected), { headers: { n: String(expected) } })
    process.stdout.write(`${offset}\n`)
  }
}
await Promise.all(Array.from({ length: 8 }, producer))
