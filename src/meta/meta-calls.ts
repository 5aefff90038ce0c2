import type { SqlCalls } from './sql-driver.ts'

/** What a metadata store has asked of its database so far, for `/metrics`. */
export interface MetaCalls {
  metaCalls(): Readonly<SqlCalls>
}
