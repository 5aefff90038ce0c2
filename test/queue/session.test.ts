import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Session } from '../../src/queue/remote/session.ts'

const frame = (n: number, size = 8) => new Uint8Array(size).fill(n)

it('a session remembers replies until the client says it has them', () => {
  const session = new Session()
  for (const id of [1, 2, 3]) session.answer(id, frame(id))
  assert.deepEqual(session.reply(2), frame(2))
  session.received(3)
  assert.equal(session.reply(1), undefined)
  assert.equal(session.reply(2), undefined)
  assert.deepEqual(session.reply(3), frame(3), 'the reply to request 3 may still be on its way')
  // A reply answered late (a long fetch) to a request the client already gave up is not kept.
  session.answer(2, frame(2))
  assert.equal(session.reply(2), undefined)
  session.received(1)
  session.answer(2, frame(2))
  assert.equal(session.reply(2), undefined, 'received never moves back')
  assert.deepEqual(session.reply(3), frame(3))
})

it('replies answered out of order are forgotten by id, not by age', () => {
  const session = new Session()
  session.answer(5, frame(5))
  session.answer(2, frame(2))
  session.answer(9, frame(9))
  session.received(6)
  assert.equal(session.reply(5), undefined)
  assert.equal(session.reply(2), undefined)
  assert.deepEqual(session.reply(9), frame(9))
})

it('a client that never says what it received costs a bounded number of bytes', () => {
  const session = new Session()
  // Fetch replies of 1 MiB each: the session keeps the newest 64 MiB of them.
  for (let id = 1; id <= 100; id++) session.answer(id, frame(id, 1 << 20))
  assert.equal(session.reply(36), undefined)
  assert.ok(session.reply(37))
  assert.ok(session.reply(100))
})
