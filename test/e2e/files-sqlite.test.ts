import { runFilesSuite, runTenancySuite } from './files-suite.ts'

// The embedded default: SQLite in the data folder.
runFilesSuite('sqlite', { metaArgs: async () => [] })
runTenancySuite('sqlite', { metaArgs: async () => [] })
