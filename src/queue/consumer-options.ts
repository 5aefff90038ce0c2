import { QueueError } from './errors.ts'
import type { ConsumerOptions } from './queue.ts'

/** Consumer options in range: whole numbers, at least 1 for `maxDeliver` and `ackWaitMs`. */
export function checkConsumerOptions(
  options: Required<ConsumerOptions>,
): Required<ConsumerOptions> {
  for (const [name, value] of Object.entries(options)) {
    if (
      !Number.isSafeInteger(value) ||
      value < (name === 'maxDeliver' || name === 'ackWaitMs' ? 1 : 0)
    ) {
      throw new QueueError(
        'E_QUEUE_ARGUMENT',
        `${name} must be an integer of at least ${name === 'maxDeliver' || name === 'ackWaitMs' ? 1 : 0}, not ${value}`,
      )
    }
  }
  return options
}
