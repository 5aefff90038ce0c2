import assert from 'node:assert/strict'
import { it } from 'node:test'
import { checkFileName } from '../../src/files/index.ts'

it('accepts UTF-8 names with / separators up to 1024 bytes', () => {
  for (const name of [
    'a',
    'reports/2026/q1.csv',
    'é/ü/漢字.txt',
    'x'.repeat(1024),
    'a b',
    '.env',
    '...',
  ]) {
    assert.equal(checkFileName(name), name)
  }
})

it('refuses bad names, saying why', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['/abs', /empty segment/],
    ['trailing/', /empty segment/],
    ['a//b', /empty segment/],
    ['a/./b', /"\." segment/],
    ['../etc/passwd', /"\.\." segment/],
    ['..', /"\.\." segment/],
    ['bell\u0007', /U\+0007/],
    ['new\nline', /U\+000A/],
    ['c1\u0085', /U\+0085/],
    ['x'.repeat(1025), /1025 bytes/],
    ['é'.repeat(513), /1026 bytes/],
    ['\ud800', /UTF-8/],
  ]
  for (const [name, why] of cases) {
    assert.throws(
      () => checkFileName(name),
      { code: 'E_FILE_NAME', message: why },
      JSON.stringify(name),
    )
  }
})
