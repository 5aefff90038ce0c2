import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const LOCK = fileURLToPath(new URL('../../src/log/dir-lock.ts', import.meta.url))
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

// Tries the lock, says whether it got it, holds it until stdin closes.
const HOLDER = `
import { lockDir } from ${JSON.stringify(LOCK)}
try {
  await lockDir(process.argv[1], (owner) => Object.assign(new Error('held by ' + owner), { code: 'E_LOCKED' }))
  process.stdout.write('won\\n')
} catch (error) {
  process.stdout.write(error.code === 'E_LOCKED' ? 'lost\\n' : 'error ' + error.message + '\\n')
}
process.stdin.resume()
process.stdin.once('end', () => process.exit(0))
`

it("processes racing for one folder, some over a dead owner's lock: exactly one gets it", async () => {
  for (let round = 0; round < 5; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'piper-lock-'))
    dirs.push(dir)
    // Half the rounds start from the lock of a process that is gone (kill -9).
    if (round % 2 === 1) await writeFile(join(dir, 'LOCK'), '999999999')
    const racers = Array.from({ length: 6 }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', HOLDER, dir], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const answers = await Promise.all(
      racers.map(async (child) => {
        const [line] = (await once(child.stdout!, 'data')) as [Buffer]
        return line.toString().trim()
      }),
    )
    for (const child of racers) child.stdin!.end()
    await Promise.all(racers.map((child) => once(child, 'exit')))
    assert.deepEqual(
      answers.toSorted(),
      ['lost', 'lost', 'lost', 'lost', 'lost', 'won'],
      `round ${round}`,
    )
    const left = (await readdir(dir)).filter((n) => n !== 'LOCK')
    assert.deepEqual(left, [], 'no helper file stays behind')
  }
})
