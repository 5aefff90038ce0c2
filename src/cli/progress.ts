/** A one-line progress display on a terminal's stderr; silent elsewhere or for small inputs. */
export function progressReporter(
  total: number | undefined,
  verb: string,
): ((done: number) => void) | undefined {
  if (!process.stderr.isTTY || total === undefined || total < 64 << 20) return undefined
  let shown = -1
  return (done) => {
    const percent = Math.floor((done / total) * 100)
    if (percent === shown) return
    shown = percent
    process.stderr.write(
      `\r${verb} ${percent}% (${(done / 2 ** 20).toFixed(0)} of ${(total / 2 ** 20).toFixed(0)} MiB)`,
    )
    if (done >= total) process.stderr.write('\n')
  }
}
