import { QueueError } from './errors.ts'

const TOPIC = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/
const GROUP = /^[a-z0-9][a-z0-9-]*$/

/**
 * Topic names: lowercase letters, digits and `-`, in `.`-separated parts (`jobs.compress`), at
 * most 200 characters. Narrow on purpose: a topic is a folder name, a NATS stream name (with `.`
 * as `_`) and a URL path segment, so one spelling has to be safe in all three.
 */
export function checkTopic(topic: string): string {
  if (typeof topic !== 'string' || topic.length > 200 || !TOPIC.test(topic)) {
    throw new QueueError(
      'E_TOPIC_NAME',
      `invalid topic ${JSON.stringify(topic)}: use lowercase letters, digits and "-", in "."-separated parts (e.g. jobs.compress), at most 200 characters`,
    )
  }
  return topic
}

/** Group names: lowercase letters, digits and `-`, at most 100 characters. */
export function checkGroup(group: string): string {
  if (typeof group !== 'string' || group.length > 100 || !GROUP.test(group)) {
    throw new QueueError(
      'E_GROUP_NAME',
      `invalid group ${JSON.stringify(group)}: use lowercase letters, digits and "-", at most 100 characters`,
    )
  }
  return group
}

/** The dead-letter topic of `topic`. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`
}
