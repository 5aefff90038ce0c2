import { after, type TestContext } from 'node:test'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { isListening, POSTGRES, requireServer } from '../helpers/services.ts'
import { runFilesSuite, runTenancySuite } from './files-suite.ts'

after(dropTestSchemas)

async function metaArgs(t?: TestContext): Promise<string[] | undefined> {
  if (t) return (await requireServer(t, POSTGRES)) ? ['--meta', freshPostgresUrl()] : undefined
  return (await isListening(POSTGRES.host, POSTGRES.port))
    ? ['--meta', freshPostgresUrl()]
    : undefined
}

runFilesSuite('postgres', { metaArgs })
runTenancySuite('postgres', { metaArgs })
