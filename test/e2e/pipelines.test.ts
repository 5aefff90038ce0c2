import { after, type TestContext } from 'node:test'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { isListening, POSTGRES, requireServer } from '../helpers/services.ts'
import { runPipelinesSuite } from './pipelines-suite.ts'

after(dropTestSchemas)

runPipelinesSuite('sqlite, embedded queue', { args: async () => [] })

runPipelinesSuite('postgres, embedded queue', {
  args: async (t?: TestContext) => {
    const up = t
      ? await requireServer(t, POSTGRES)
      : await isListening(POSTGRES.host, POSTGRES.port)
    return up ? ['--meta', freshPostgresUrl()] : undefined
  },
})
