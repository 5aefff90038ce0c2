/**
 * The thumbnails peer: a plain script calling sharp directly, as a user without Piper would:
 * each photo decoded once (`clone()` per output), three webp sizes fitted inside 160, 480 and
 * 1280, written beside each other; `CONCURRENCY` photos at a time. Args: OUT_DIR CONCURRENCY
 * FILE…
 */
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import sharp from 'sharp'

const [out, concurrency, ...files] = process.argv.slice(2)
const SIZES = { thumb: 160, small: 480, large: 1280 }
let next = 0
async function lane() {
  while (next < files.length) {
    const file = files[next++]!
    const image = sharp(await readFile(file), { failOn: 'truncated', autoOrient: true })
    await Promise.all(
      Object.entries(SIZES).map(([name, size]) =>
        image
          .clone()
          .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
          .webp()
          .toFile(join(out!, `${basename(file)}.${name}.webp`)),
      ),
    )
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, lane))
