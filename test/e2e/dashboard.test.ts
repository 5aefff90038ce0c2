import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startPiper } from '../helpers/piper-server.ts'

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Never a downloaded one. */
const CHROMIUM = '/usr/bin/chromium'
/** Screenshots of each view, kept as test artifacts (CI uploads the folder). */
const ARTIFACTS = fileURLToPath(new URL('../../test-results/dashboard/', import.meta.url))

it('dashboard in Chromium: sign in, upload with Uppy (tus), compress, watch the job succeed live, download and gunzip', async (t) => {
  if (!existsSync(CHROMIUM)) {
    const why = `${CHROMIUM} is missing (apt-get install chromium)`
    if (process.env.CI === 'true') assert.fail(why)
    t.skip(why)
    return
  }
  await mkdir(ARTIFACTS, { recursive: true })
  const data = await mkdtemp(join(tmpdir(), 'piper-dashboard-'))
  const created = await runPiper(['keys', 'create', 'alice', '--data', data], { env: cleanEnv() })
  const key = created.stdout.trim()
  const piper = await startPiper(['--chunk-size', '256K'], {}, data)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  const elsewhere: string[] = []
  const problems: string[] = []
  try {
    const context = await browser.newContext({ acceptDownloads: true })
    const page = await context.newPage()
    const origin = new URL(piper.url).origin
    page.on('request', (request) => {
      const url = request.url()
      if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) {
        elsewhere.push(url)
      }
    })
    page.on('pageerror', (error) => problems.push(error.message))
    // Answers the page expects and handles: the sign-in check's 401, the administrators' views
    // for a client that is not one (403), storage nodes where there are none (404).
    const expected = /\/v1\/files\?limit=1$|\/v1\/admin\/(queue|storage)$/
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      const from = message.location().url
      if (message.text().startsWith('Failed to load resource') && expected.test(from)) return
      problems.push(`${message.text()} (${from})`)
    })

    await page.goto(piper.url)
    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Files' }).waitFor()
    await page.screenshot({ path: join(ARTIFACTS, '1-files-empty.png') })

    // A text file of several chunks, uploaded by Uppy's tus plugin into /v1/tus/.
    const original = Buffer.from(
      Array.from(
        { length: 40_000 },
        (_, i) => `line ${i} ${randomBytes(8).toString('hex')}\n`,
      ).join(''),
    )
    const source = join(data, 'report.txt')
    await writeFile(source, original)
    await page.locator('input[data-test="upload"]').setInputFiles(source)
    const row = page.locator('tr[data-file="report.txt"]')
    await row.waitFor()
    await page.getByRole('status').filter({ hasText: 'Uploaded 1 file' }).waitFor()
    await page.screenshot({ path: join(ARTIFACTS, '2-files-uploaded.png') })

    await row.getByRole('button', { name: 'Compress' }).click()
    await page
      .getByRole('status')
      .filter({ hasText: /queued: compress report.txt/ })
      .waitFor()
    await page.getByRole('button', { name: 'Jobs' }).click()
    // Live: the row reaches succeeded from the event stream, without a reload.
    const job = page.locator('tr[data-job]').first()
    await page.locator('tr[data-job][data-state="succeeded"]').waitFor()
    assert.equal(await job.getAttribute('data-state'), 'succeeded')
    await page.screenshot({ path: join(ARTIFACTS, '3-jobs-succeeded.png') })

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      job.getByRole('button', { name: 'Download output' }).click(),
    ])
    const saved = join(data, 'downloaded.gz')
    await download.saveAs(saved)
    const restored = execFileSync('gzip', ['-dc', saved], { maxBuffer: 64 << 20 })
    assert.ok(restored.equals(original), 'gzip -d of the download is the uploaded file')
    assert.ok((await readFile(saved)).length < original.length, 'and it is smaller')

    // A gzip file is offered Decompress, not Compress.
    await page.getByRole('button', { name: 'Files', exact: true }).click()
    const gz = page.locator('tr[data-file="report.txt.gz"]')
    await gz.waitFor()
    assert.equal(await gz.getByRole('button', { name: 'Compress', exact: true }).count(), 0)
    await gz.getByRole('button', { name: 'Decompress' }).click()
    await page
      .getByRole('status')
      .filter({ hasText: /queued: decompress report.txt.gz → report.txt$/ })
      .waitFor()

    for (const view of ['Runs', 'Dead letters', 'System']) {
      await page.getByRole('button', { name: view, exact: true }).click()
      await page.getByRole('heading', { name: view === 'Runs' ? 'Pipeline runs' : view }).waitFor()
      if (view === 'Runs') {
        // A run started elsewhere appears live, newest first, and says why it failed.
        const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
        const made = await fetch(`${piper.url}/v1/pipelines`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: 'unzip', steps: { un: { kind: 'decompress' } } }),
        })
        assert.equal(made.status, 201, await made.text())
        const started = await fetch(`${piper.url}/v1/runs`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ pipeline: 'unzip', input: 'report.txt' }),
        })
        const run = (await started.json()) as { id: string }
        const failed = page.locator(`tr[data-run="${run.id}"][data-state="failed"]`)
        await failed.waitFor()
        await failed.getByRole('button', { name: 'Steps' }).click()
        await page
          .locator('[data-run-error]')
          .filter({ hasText: /^E_\w+: step un/ })
          .waitFor()
      }
      // The usage chart (uPlot) is drawn from /v1/stats.
      if (view === 'System') {
        await page.locator('figure .uplot').first().waitFor()
        // What is stored now (the upload, and its output once counted).
        const figures = page.getByLabel('Usage figures')
        await figures.getByText(/^[12] files?, /).waitFor()
        assert.match(await figures.innerText(), /Stored now\s+[12] files?, [\d.]+ [KM]iB/)
      }
      await page.screenshot({
        path: join(ARTIFACTS, `4-${view.toLowerCase().replace(' ', '-')}.png`),
      })
    }
    assert.deepEqual(elsewhere, [], 'nothing is fetched from outside the gateway')
    assert.deepEqual(problems, [], 'the page reported no errors')
  } finally {
    await browser.close()
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
