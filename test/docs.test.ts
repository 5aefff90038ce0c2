import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { SETTINGS } from '../src/config/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(join(root, path), 'utf8')

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

test('docs/configuration.md documents every setting with its flag and variable', () => {
  const doc = read('docs/configuration.md')
  for (const s of SETTINGS) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${s.name}\` |`))
    assert.ok(row, `docs/configuration.md has no row for ${s.name}`)
    assert.ok(row.includes(`\`${s.flag}\``), `${s.name}: flag ${s.flag} missing`)
    assert.ok(row.includes(`\`${s.env}\``), `${s.name}: variable ${s.env} missing`)
  }
})

test('docs/errors.md lists every error code used in src/', () => {
  const doc = read('docs/errors.md')
  const codes = new Set<string>()
  for (const file of sourceFiles('src')) {
    for (const match of readFileSync(file, 'utf8').matchAll(/'(E_[A-Z0-9_]+)'/g))
      codes.add(match[1]!)
  }
  assert.ok(codes.size > 0)
  const missing = [...codes].filter((code) => !doc.includes(`\`${code}\``))
  assert.deepEqual(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`)
})
