import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Component, Supervisor } from '../../src/cli/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const logger = createLogger({ level: 'silent', pretty: false })

function recorder(events: string[], name: string, failStart = false): Component {
  return {
    name,
    async start() {
      events.push(`start ${name}`)
      if (failStart) throw new Error(`${name} cannot start`)
    },
    drain() {
      events.push(`drain ${name}`)
    },
    async close() {
      events.push(`close ${name}`)
    },
  }
}

test('drains everything first, then closes in reverse start order, once', async () => {
  const events: string[] = []
  const supervisor = new Supervisor(logger)
  await supervisor.start([
    recorder(events, 'db'),
    recorder(events, 'queue'),
    recorder(events, 'gateway'),
  ])
  await Promise.all([supervisor.stop('test'), supervisor.stop('again')])
  assert.deepEqual(events, [
    'start db',
    'start queue',
    'start gateway',
    'drain db',
    'drain queue',
    'drain gateway',
    'close gateway',
    'close queue',
    'close db',
  ])
})

test('a component that fails to start closes those already started', async () => {
  const events: string[] = []
  const supervisor = new Supervisor(logger)
  await assert.rejects(
    supervisor.start([
      recorder(events, 'db'),
      recorder(events, 'queue', true),
      recorder(events, 'gateway'),
    ]),
    /queue cannot start/,
  )
  assert.deepEqual(events, ['start db', 'start queue', 'drain db', 'close db'])
})

test('a failing close does not stop the others from closing, and is reported', async () => {
  const events: string[] = []
  const broken: Component = {
    name: 'broken',
    start: async () => {},
    close: async () => {
      throw new Error('disk gone')
    },
  }
  const supervisor = new Supervisor(logger)
  await supervisor.start([recorder(events, 'db'), broken])
  await assert.rejects(supervisor.stop('test'), /disk gone/)
  assert.deepEqual(events.slice(-1), ['close db'])
})
