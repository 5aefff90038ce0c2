import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HttpError } from './errors.ts'
import type { RequestContext, Router } from './router.ts'

/** The dashboard's own files (`ui/`), by the name they are served under `/ui/`. */
const OWN: Record<string, string> = {
  'app.js': 'app.js',
  'style.css': 'style.css',
}

/**
 * The libraries the dashboard loads, each one prebuilt file of a package in node_modules (no
 * build step, nothing fetched from elsewhere): Preact with htm, uPlot, and Uppy's bundle, whose
 * tus plugin uploads to `/v1/tus/`.
 */
const VENDOR: Record<string, [pkg: string, file: string]> = {
  'preact-htm.mjs': ['htm', 'preact/standalone.module.js'],
  'uPlot.esm.js': ['uplot', 'dist/uPlot.esm.js'],
  'uPlot.min.css': ['uplot', 'dist/uPlot.min.css'],
  'uppy.min.mjs': ['uppy', 'dist/uppy.min.mjs'],
  'uppy.min.css': ['uppy', 'dist/uppy.min.css'],
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/**
 * What the page may load and talk to: this gateway only. Inline styles are allowed (Uppy and
 * uPlot set them); inline scripts, other origins, framing and plugins are not.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url))

/** The folder of an installed package: the nearest node_modules above this file that has it. */
function packageDir(pkg: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir) throw new Error(`the dashboard needs the package ${pkg}: run npm ci`)
  }
}

interface Asset {
  body: Buffer
  etag: string
  type: string
}

/** `/` and `/ui/…`: the web dashboard (docs/dashboard.md), read once and kept in memory. */
export function uiRoutes(router: Router): void {
  const cache = new Map<string, Promise<Asset>>()
  const load = (key: string, path: string) => {
    let asset = cache.get(key)
    if (!asset) {
      asset = readFile(path).then((body) => ({
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        type: TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream',
      }))
      // A failed read (a missing package) is tried again by the next request.
      asset.catch(() => cache.delete(key))
      cache.set(key, asset)
    }
    return asset
  }
  const serve =
    (key: string, path: string, cacheControl: string, headers: Record<string, string> = {}) =>
    async ({ req, res }: RequestContext) => {
      const asset = await load(key, path)
      const common = { etag: asset.etag, 'cache-control': cacheControl, ...headers }
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304, common).end()
        return
      }
      res.writeHead(200, {
        ...common,
        'content-type': asset.type,
        'content-length': asset.body.length,
      })
      res.end(req.method === 'HEAD' ? undefined : asset.body)
    }
  const page = serve('index.html', join(UI_DIR, 'index.html'), 'no-cache', {
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  })
  router.on('GET', '/', page)
  router.on('GET', '/ui/*', async (ctx) => {
    const own = OWN[ctx.tail]
    if (own) return serve(ctx.tail, join(UI_DIR, own), 'no-cache')(ctx)
    const vendor = ctx.tail.startsWith('vendor/')
      ? VENDOR[ctx.tail.slice('vendor/'.length)]
      : undefined
    if (!vendor) throw new HttpError(404, 'E_NOT_FOUND', `no dashboard file ${ctx.tail}`)
    const [pkg, file] = vendor
    // Versioned by the lockfile, not by the URL: revalidated daily.
    return serve(ctx.tail, join(packageDir(pkg), file), 'public, max-age=86400')(ctx)
  })
}
