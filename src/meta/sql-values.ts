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
