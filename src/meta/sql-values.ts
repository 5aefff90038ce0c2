import type { SqlDriver } from './sql-driver.ts'

/**
 * The rows of a statement of many rows (`VALUES …` or an `IN` list): `rows` rows of `width`
 * parameters each, numbered from `$first`, each as `row` writes it from its parameters
 * (`p(1)`…`p(width)`) and its index; by default `($a, $b, …)`.
 */
export function valuesList(
  rows: number,
  width: number,
  first: number,
  row: (p: (k: number) => string, i: number) => string = (p) =>
    `(${Array.from({ length: width }, (_, k) => p(k + 1)).join(', ')})`,
): string {
  return Array.from({ length: rows }, (_, i) =>
    row((k) => `$${first + i * width + k - 1}`, i),
  ).join(', ')
}

const built = new Map<string, string>()

/** A statement built once for its shape (`key`: its dialect and number of rows) and reused. */
export function cachedSql(key: string, build: () => string): string {
  let sql = built.get(key)
  if (sql === undefined) {
    sql = build()
    built.set(key, sql)
  }
  return sql
}

/**
 * `IN` a list of ids that travels as one JSON array parameter (`$1`): one statement text however
 * many ids there are, so it is prepared once (a list of placeholders made one text per length).
 */
export const IN_JSON_IDS: Record<SqlDriver['dialect'], string> = {
  sqlite: 'IN (SELECT value FROM json_each($1))',
  postgres: 'IN (SELECT json_array_elements_text($1::json))',
}

/** The states a job or a run ends in, as an SQL list: `state IN ${ENDED_STATES}`. */
export const ENDED_STATES = "('succeeded', 'failed', 'cancelled')"
