/** Deterministic test data of the shapes compression meets: text, skewed, random, runs. */

/** A small xorshift generator, so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

const WORDS =
  'the of and to in is that for it as with was on be by this are from or have not an at which but'.split(
    ' ',
  )

export function textLike(size: number, seed = 1): Uint8Array {
  const random = rng(seed)
  const out = new Uint8Array(size)
  let i = 0
  while (i < size) {
    const word = WORDS[Math.floor(random() ** 2 * WORDS.length)]!
    for (let k = 0; k < word.length && i < size; k++) out[i++] = word.charCodeAt(k)
    if (i < size) out[i++] = random() < 0.1 ? 10 : 32
  }
  return out
}

export function skewed(size: number, seed = 2): Uint8Array {
  const random = rng(seed)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = Math.min(255, Math.floor(-Math.log(1 - random()) * 4))
  return out
}

export function randomBytes(size: number, seed = 3): Uint8Array {
  const random = rng(seed)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256)
  return out
}

export function oneValue(size: number, value = 0x41): Uint8Array {
  return new Uint8Array(size).fill(value)
}

/** Halves of different statistics, to exercise block splitting. */
export function mixed(size: number, seed = 4): Uint8Array {
  const out = new Uint8Array(size)
  const half = size >> 1
  out.set(textLike(half, seed), 0)
  out.set(randomBytes(size - half, seed + 1), half)
  return out
}

export const SHAPES: Record<string, (size: number) => Uint8Array> = {
  text: textLike,
  skewed,
  random: randomBytes,
  'one value': oneValue,
  mixed,
  'all 256 values': (size) => Uint8Array.from({ length: size }, (_, i) => i & 255),
}
