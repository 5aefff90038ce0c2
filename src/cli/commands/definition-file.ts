import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { CliError, usageError } from '../errors.ts'

/** A pipeline or schedule file: JSON or YAML (YAML 1.2 is a superset of JSON: one parser). */
export async function readDefinitionFile(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, { cause: error })
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 })
  } catch (error) {
    throw usageError(`${file} is not JSON or YAML: ${(error as Error).message}`, error)
  }
}
