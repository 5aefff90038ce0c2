import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { KindRegistry } from '../../src/jobs/index.ts'
import {
  expandOutput,
  findCycle,
  leafSteps,
  parsePipeline,
  stepOrder,
} from '../../src/pipelines/index.ts'

const kinds = new KindRegistry()

function invalid(body: unknown, message: RegExp) {
  assert.throws(() => parsePipeline(body, kinds), { code: 'E_PIPELINE_INVALID', message })
}

describe('pipeline definitions', () => {
  it('fills in defaults and keeps what was given', () => {
    const { name, definition } = parsePipeline(
      {
        name: 'images-1',
        steps: {
          gz: { kind: 'compress' },
          sums: { kind: 'hash', params: { algorithms: ['md5'] }, on_failure: 'ignore' },
          bundle: { kind: 'tar', use: ['gz', ':input'], output: 'out/{run}.tar', shards: 3 },
        },
      },
      kinds,
    )
    assert.equal(name, 'images-1')
    assert.deepEqual(definition.steps.gz, {
      kind: 'compress',
      params: {},
      use: [':input'],
      shards: 1,
      on_failure: 'fail',
    })
    assert.equal(definition.steps.bundle!.shards, 3)
    assert.deepEqual(stepOrder(definition), ['gz', 'sums', 'bundle'])
    assert.deepEqual(leafSteps(definition).sort(), ['bundle', 'sums'])
  })

  it('refuses what cannot run, saying where', () => {
    invalid({ name: 'p', steps: {} }, /^steps must be 1 to 100 steps$/)
    invalid({ name: '../p', steps: { a: { kind: 'hash' } } }, /^name must be 1 to 128 letters/)
    invalid({ name: 'p', steps: { a: { kind: 'resize' } } }, /steps\.a\.kind must be one of/)
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', use: ['b'] } } },
      /steps\.a\.use names "b", which is not a step/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', use: ['a'] } } },
      /steps\.a\.use names the step itself/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash' }, b: { kind: 'compress', use: ['a'] } } },
      /steps\.b\.use names a, whose kind hash writes no file/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'decompress', params: { maxOutputBytes: -1 } } } },
      /steps\.a\.params\.maxOutputBytes must be >= 1/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', speed: 1 } } },
      /steps\.a has an unknown field "speed"/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', shards: 65 } } },
      /shards must be an integer from 1 to 64/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', on_failure: 'retry' } } },
      /on_failure must be one of/,
    )
    invalid({ name: 'p', steps: { a: { kind: 'compress', output: '{nope}.gz' } } }, /uses \{nope\}/)
    invalid(
      {
        name: 'p',
        steps: {
          a: { kind: 'compress', use: ['c'] },
          b: { kind: 'compress', use: ['a'] },
          c: { kind: 'compress', use: ['b'] },
        },
      },
      /the steps form a cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/,
    )
    invalid([], /the body must be a JSON object/)
    invalid(
      { name: 'p', steps: { 'a b': { kind: 'hash' } } },
      /steps has a key "a b", which must be 1 to 64/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'hash', use: ['b', 'b'] } } },
      /steps\.a\.use must be a list of 1 to 32 different/,
    )
    invalid(
      { name: 'p', steps: { a: { kind: 'compress', output: '' } } },
      /steps\.a\.output must be a name template/,
    )
    invalid({ steps: { a: { kind: 'hash' } } }, /^name is required$/)
  })

  it('finds a cycle in any graph that has one, and orders every graph that has none', () => {
    const graph = fc
      .integer({ min: 1, max: 9 })
      .chain((n) =>
        fc.tuple(
          fc.constant(n),
          fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 20 }),
        ),
      )
    fc.assert(
      fc.property(graph, ([n, edges]) => {
        const steps: Record<string, { use: string[] }> = {}
        for (let i = 0; i < n; i++) steps[`s${i}`] = { use: [':input'] }
        for (const [from, to] of edges) {
          const use = steps[`s${to}`]!.use
          if (!use.includes(`s${from}`)) use.push(`s${from}`)
        }
        // Reference: a graph is acyclic iff repeatedly removing steps whose parents are all
        // removed removes every step.
        const left = new Set(Object.keys(steps))
        for (let changed = true; changed; ) {
          changed = false
          for (const s of left) {
            if (steps[s]!.use.every((p) => p === ':input' || !left.has(p))) {
              left.delete(s)
              changed = true
            }
          }
        }
        const cycle = findCycle(steps)
        assert.equal(cycle !== undefined, left.size > 0)
        if (cycle) {
          assert.equal(cycle[0], cycle.at(-1), 'the path ends where it starts')
          for (let i = 1; i < cycle.length; i++) {
            assert.ok(
              steps[cycle[i]!]!.use.includes(cycle[i - 1]!),
              `${cycle[i - 1]} → ${cycle[i]}`,
            )
          }
        } else {
          const definition = {
            steps: Object.fromEntries(
              Object.entries(steps).map(([k, v]) => [
                k,
                {
                  kind: 'compress',
                  params: {},
                  use: v.use,
                  shards: 1,
                  on_failure: 'fail' as const,
                },
              ]),
            ),
          }
          const order = stepOrder(definition)
          assert.equal(order.length, n)
          for (const [i, step] of order.entries()) {
            for (const p of steps[step]!.use) if (p !== ':input') assert.ok(order.indexOf(p) < i)
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('expands output templates from the item input', () => {
    const vars = { input: 'photos/2024/cat.large.jpg', run: 'run_x', step: 'thumb', item: 3 }
    assert.equal(expandOutput('{dir}{stem}.thumb{ext}', vars), 'photos/2024/cat.large.thumb.jpg')
    assert.equal(
      expandOutput('out/{run}/{step}/{item}-{name}', vars),
      'out/run_x/thumb/3-cat.large.jpg',
    )
    assert.equal(expandOutput('{input}.gz', { ...vars, input: 'noext' }), 'noext.gz')
    assert.equal(expandOutput('{stem}{ext}', { ...vars, input: '.hidden' }), '.hidden')
  })
})
