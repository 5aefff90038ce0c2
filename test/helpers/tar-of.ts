import { pack as tarPack } from 'tar-stream'
import { textLike } from '../codec/data.ts'

/** A tar of `n` text files `photos/pNN.txt`, each different. */
export async function tarOf(n: number): Promise<{ tar: Buffer; files: Map<string, Buffer> }> {
  const archive = tarPack()
  const files = new Map<string, Buffer>()
  for (let i = 0; i < n; i++) {
    const name = `photos/p${String(i).padStart(2, '0')}.txt`
    const bytes = Buffer.from(textLike(3000 + i * 700, i + 1))
    files.set(name, bytes)
    archive.entry({ name }, bytes)
  }
  archive.finalize()
  const parts: Buffer[] = []
  for await (const part of archive) parts.push(part as Buffer)
  return { tar: Buffer.concat(parts), files }
}
