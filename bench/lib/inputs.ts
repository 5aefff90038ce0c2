import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface Input {
  name: string
  bytes: Uint8Array
}

/** The real files of ../shared/corpus (Canterbury, Large Canterbury), when present. */
export function corpusFiles(): Input[] {
  const dir = join(root, '..', 'shared', 'corpus')
  try {
    return readdirSync(dir)
      .filter((name) => !name.endsWith('.md'))
      .sort()
      .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }))
  } catch {
    return []
  }
}

/** English-like text from a Zipf-distributed vocabulary with punctuation and line breaks. */
export function generatedText(size: number, seed = 7): Uint8Array {
  let x = seed
  const random = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    return x / 0x7fffffff
  }
  const vocabulary = Array.from({ length: 5000 }, (_, i) => {
    let word = ''
    const length = 2 + Math.floor(random() * 8)
    for (let k = 0; k < length; k++)
      word += 'etaoinshrdlcumwfgypbvkjxqz'[Math.floor(random() ** 1.8 * 26)]
    return i % 40 === 0 ? word[0]!.toUpperCase() + word.slice(1) : word
  })
  const out = new Uint8Array(size)
  let i = 0
  while (i < size) {
    const word = vocabulary[Math.floor(5000 ** random()) - 1]!
    for (let k = 0; k < word.length && i < size; k++) out[i++] = word.charCodeAt(k)
    if (i < size)
      out[i++] = random() < 0.08 ? (random() < 0.5 ? 46 : 44) : random() < 0.02 ? 10 : 32
  }
  return out
}

/** Real source code: the JavaScript and TypeScript installed in node_modules and src/. */
export function sourceCode(limit: number): Uint8Array {
  const parts: Buffer[] = []
  let total = 0
  for (const dir of ['src', 'node_modules']) {
    for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (total >= limit) break
      if (!entry.isFile() || !/\.(m|c)?(js|ts)$/.test(entry.name)) continue
      const bytes = readFileSync(join(entry.parentPath, entry.name))
      parts.push(bytes)
      total += bytes.length
    }
  }
  return new Uint8Array(Buffer.concat(parts).subarray(0, limit))
}

/** A real executable: the Node 24 binary the project installs. */
export function binary(limit: number): Uint8Array {
  const bytes = readFileSync(join(root, 'node_modules', 'node', 'bin', 'node'))
  return new Uint8Array(bytes.subarray(0, limit))
}
