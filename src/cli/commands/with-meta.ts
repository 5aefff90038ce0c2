import { type FlagValues, loadConfig, metaStoreFor } from '../../config/index.ts'

/** Runs `fn` on the configured metadata store (every port it serves), opened for it and closed after. */
export async function withMeta<T>(
  flags: FlagValues,
  fn: (meta: Awaited<ReturnType<typeof metaStoreFor>>) => Promise<T>,
): Promise<T> {
  const { config } = loadConfig({ flags })
  const meta = await metaStoreFor(config.meta)
  await meta.start()
  try {
    return await fn(meta)
  } finally {
    await meta.close()
  }
}
