/**
 * The BullMQ side of `npm run bench -- pipelines`, in a process of its own as a deployment runs
 * it: workers for the three queues of the DAG a → 10 × b → c. `a` finishing adds the flow (c,
 * the parent, waits for its 10 `b` children: BullMQ's join). Started with the queue-name prefix
 * and the Redis port as its arguments; prints `ready`, then each run's name as its `c` job
 * completes (the worker's own event, after the job is recorded completed); stops on SIGTERM.
 */
import { FlowProducer, Worker } from 'bullmq'

const prefix = process.argv[2] ?? 'bench'
const connection = { host: '127.0.0.1', port: Number(process.argv[3] ?? 6379) }
const flows = new FlowProducer({ connection })
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16)

const a = new Worker(
  `${prefix}-a`,
  async (job) => {
    // a's output becomes 10 parallel b's, joined by c.
    await flows.add({
      name: 'c',
      queueName: `${prefix}-c`,
      data: job.data,
      children: Array.from({ length: 10 }, (_, i) => ({
        name: 'b',
        queueName: `${prefix}-b`,
        data: { run: job.data.run, item: i },
      })),
    })
    return 'a'
  },
  { connection, concurrency },
)
const b = new Worker(`${prefix}-b`, async (job) => `b${job.data.item}`, { connection, concurrency })
const c = new Worker(
  `${prefix}-c`,
  async (job) => Object.keys(await job.getChildrenValues()).length,
  { connection, concurrency },
)
c.on('completed', (job) => {
  process.stdout.write(`${job.data.run}\n`)
})
process.stdout.write('ready\n')
process.once('SIGTERM', async () => {
  await Promise.all([a.close(), b.close(), c.close(), flows.close()])
  process.exit(0)
})
