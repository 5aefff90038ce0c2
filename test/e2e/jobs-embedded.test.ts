import { after, type TestContext } from 'node:test'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { isListening, POSTGRES, requireServer } from '../helpers/services.ts'
import { runJobsSuite } from './jobs-suite.ts'

after(dropTestSchemas)

runJobsSuite('sqlite, embedded queue', { args: async () => [] })

runJobsSuite('postgres, embedded queue', {
  args: async (t?: TestContext) => {
    const up = t
      ? await requireServer(t, POSTGRES)
      : await isListening(POSTGRES.host, POSTGRES.port)
    return up ? ['--meta', freshPostgresUrl()] : undefined
  },
})
