import { spawn } from 'node:child_process'

/** Runs a program with `input` on stdin; resolves with its exit code and output bytes. */
export function pipeThrough(
  command: string,
  args: readonly string[],
  input: Uint8Array,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }))
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}
