// Piper's dashboard: Preact with htm (no build step), uPlot for charts, Uppy with its tus plugin
// for resumable uploads. Everything is served by the gateway; nothing is fetched from elsewhere.
// The API key lives in this page's memory only: a reload asks for it again.
import { html, render, useEffect, useMemo, useRef, useState } from '/ui/vendor/preact-htm.mjs'

let apiKey = ''

/** A request to the API with the key; throws the API's `{error}` as an Error. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers)
  if (apiKey) headers.set('authorization', `Bearer ${apiKey}`)
  const res = await fetch(path, { ...init, headers })
  if (!res.ok) {
    const body = await res.json().catch(() => ({}))
    const error = new Error(body.error?.message ?? `${res.status} ${res.statusText}`)
    error.status = res.status
    error.code = body.error?.code
    throw error
  }
  return res.status === 204
    ? undefined
    : res.headers.get('content-type')?.includes('json')
      ? res.json()
      : res
}

const post = (path, body) =>
  api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  })

function streamHeaders(lastEventId) {
  const headers = { accept: 'text/event-stream' }
  if (apiKey) headers.authorization = `Bearer ${apiKey}`
  if (lastEventId) headers['last-event-id'] = lastEventId
  return headers
}

/** One Server-Sent Events block: its `event`, `data` lines joined, and `id`. */
function parseEvent(block) {
  const event = { type: 'message', data: '', id: undefined }
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event.type = text
    else if (field === 'data') event.data += text
    else if (field === 'id') event.id = text
  }
  return event
}

/**
 * Server-Sent Events read through fetch (EventSource cannot send the API key), resumed with
 * Last-Event-ID after a dropped connection until `signal` aborts.
 */
async function follow(path, onEvent, signal) {
  const cursor = { last: undefined }
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: streamHeaders(cursor.last), signal })
      if (!res.ok || !res.body) throw new Error(`${res.status}`)
      // A stream the server ended (the job or run ended) is not followed again.
      return await readEvents(res.body, onEvent, cursor)
    } catch {
      if (signal.aborted) return
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}

/** Hands each event of the stream to `onEvent`, keeping the last id in `cursor`. */
async function readEvents(body, onEvent, cursor) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = parseEvent(buffer.slice(0, end))
      buffer = buffer.slice(end + 2)
      if (event.id) cursor.last = event.id
      if (event.data) onEvent(event.type, JSON.parse(event.data))
    }
  }
}

const fileUrl = (name) => `/v1/files/${name.split('/').map(encodeURIComponent).join('/')}`

/** Saves a file through fetch (a link could not carry the key). */
async function download(name) {
  const res = await api(fileUrl(name))
  const url = URL.createObjectURL(await res.blob())
  const a = Object.assign(document.createElement('a'), {
    href: url,
    download: name.split('/').pop(),
  })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** A gzip file (by its type, or its name when it was stored untyped): offered Decompress, not Compress. */
function isGzip(file) {
  return /^application\/(x-)?gzip$/.test(file.content_type) || file.name.endsWith('.gz')
}

function bytes(n) {
  if (n == null) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '')
const Badge = ({ state }) => html`<span class="badge ${state}">${state}</span>`

/** A status line read out by screen readers as it changes. */
function Status({ message }) {
  return html`<p role="status" aria-live="polite" class=${message?.error ? 'error' : 'muted'}>${message?.text ?? ''}</p>`
}

function SignIn({ onSignedIn, problem }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState(problem)
  const submit = async (e) => {
    e.preventDefault()
    apiKey = key.trim()
    try {
      await api('/v1/files?limit=1')
      onSignedIn()
    } catch (err) {
      apiKey = ''
      setError(err.status === 401 ? 'That key is not valid.' : err.message)
    }
  }
  return html`<form class="signin card" onSubmit=${submit}>
    <h1>Piper</h1>
    <label for="key">API key</label>
    <input id="key" type="password" autocomplete="off" value=${key} onInput=${(e) => setKey(e.target.value)} required />
    <button class="primary" type="submit">Sign in</button>
    <p class="muted">The key stays in this page's memory; it is sent to this gateway only.</p>
    ${error && html`<p role="alert" class="error">${error}</p>`}
  </form>`
}

function Files({ say }) {
  const [prefix, setPrefix] = useState('')
  const [files, setFiles] = useState([])
  const [cursor, setCursor] = useState(null)
  const [upload, setUpload] = useState(null)
  const [duplicates, setDuplicates] = useState(null)
  const input = useRef()
  const load = async (more) => {
    const q = new URLSearchParams({ prefix, limit: '200' })
    if (more && cursor) q.set('cursor', cursor)
    const page = await api(`/v1/files?${q}`)
    setFiles(more ? [...files, ...page.files] : page.files)
    setCursor(page.next_cursor)
  }
  useEffect(() => {
    load(false).catch((e) => say(e.message, true))
  }, [prefix])
  // Folders are the next segment of names under the prefix.
  const { folders, here } = useMemo(() => {
    const folders = new Set()
    const here = []
    for (const f of files) {
      const rest = f.name.slice(prefix.length)
      const slash = rest.indexOf('/')
      if (slash >= 0) folders.add(prefix + rest.slice(0, slash + 1))
      else here.push(f)
    }
    return { folders: [...folders], here }
  }, [files, prefix])

  const startUpload = async (chosen) => {
    if (!chosen.length) return
    const { Uppy, Tus } = await import('/ui/vendor/uppy.min.mjs')
    const uppy = new Uppy({ autoProceed: false })
    uppy.use(Tus, {
      endpoint: '/v1/tus/',
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      retryDelays: [0, 1000, 3000, 5000],
      removeFingerprintOnSuccess: true,
    })
    for (const file of chosen) {
      uppy.addFile({
        name: file.name,
        type: file.type,
        data: file,
        meta: { name: prefix + file.name },
      })
    }
    uppy.on('progress', (percent) => setUpload({ percent, names: chosen.map((f) => f.name) }))
    const result = await uppy.upload()
    setUpload(null)
    input.current.value = ''
    if (result.failed?.length) say(`Upload failed: ${result.failed[0].error}`, true)
    else say(`Uploaded ${result.successful.length} file(s)`)
    await load(false)
  }
  const remove = async (name) => {
    if (!confirm(`Delete ${name}?`)) return
    await api(fileUrl(name), { method: 'DELETE' })
    say(`Deleted ${name}`)
    await load(false)
  }
  const startJob = async (type, name) => {
    const job = await post('/v1/jobs', { type, input: name })
    say(`Job ${job.id} queued: ${type} ${name} → ${job.output}`)
  }
  const showDuplicates = async (name) => {
    setDuplicates({ name, items: (await api(`${fileUrl(name)}/duplicates`)).duplicates ?? [] })
  }
  const crumbs = prefix.split('/').filter(Boolean)
  return html`<section aria-labelledby="files-h">
    <h2 id="files-h">Files</h2>
    <div class="row">
      <nav aria-label="Folder">
        <button class="link" onClick=${() => setPrefix('')}>all files</button>
        ${crumbs.map(
          (c, i) =>
            html` / <button class="link" onClick=${() => setPrefix(`${crumbs.slice(0, i + 1).join('/')}/`)}>${c}</button>`,
        )}
      </nav>
      <label>Upload to this folder <input ref=${input} type="file" multiple data-test="upload" onChange=${(e) => startUpload([...e.target.files]).catch((err) => say(err.message, true))} /></label>
      ${upload && html`<progress max="100" value=${upload.percent} aria-label="Upload progress">${upload.percent}%</progress>`}
    </div>
    <table>
      <thead><tr><th>Name</th><th class="num">Size</th><th>Type</th><th>Created</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${folders.map(
          (f) =>
            html`<tr><td colspan="5"><button class="link" onClick=${() => setPrefix(f)}>${f.slice(prefix.length)}</button></td></tr>`,
        )}
        ${here.map(
          (f) => html`<tr data-file=${f.name}>
            <td>${f.name.slice(prefix.length)}</td>
            <td class="num">${bytes(f.size)}</td>
            <td>${f.content_type}</td>
            <td>${when(f.created)}</td>
            <td>
              <button class="act" onClick=${() => download(f.name).catch((e) => say(e.message, true))}>Download</button>
              ${
                isGzip(f)
                  ? html`<button class="act" onClick=${() => startJob('decompress', f.name).catch((e) => say(e.message, true))}>Decompress</button>`
                  : html`<button class="act" onClick=${() => startJob('compress', f.name).catch((e) => say(e.message, true))}>Compress</button>`
              }
              ${f.content_type.startsWith('image/') && html`<button class="act" onClick=${() => showDuplicates(f.name).catch((e) => say(e.message, true))}>Duplicates</button>`}
              <button class="act" onClick=${() => remove(f.name).catch((e) => say(e.message, true))}>Delete</button>
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${cursor && html`<button class="act" onClick=${() => load(true)}>More</button>`}
    ${files.length === 0 && html`<p class="muted">No files here yet.</p>`}
    ${
      duplicates &&
      html`<div class="card"><h3>Near-duplicates of ${duplicates.name}</h3>
      ${duplicates.items.length === 0 ? html`<p class="muted">None.</p>` : html`<ul>${duplicates.items.map((d) => html`<li>${d.name} (distance ${d.distance})</li>`)}</ul>`}</div>`
    }
  </section>`
}

/** Rows a live list keeps, newest first: the page it opened with, then what arrived since. */
const SHOWN = 200

/**
 * Asked (`more()`) when events name items a live list does not show yet: at most once a second,
 * reads the listing newest first, page by page until it meets an item the list has (or has
 * `SHOWN`), and adds what the list lacks. A few requests however many new items come at once
 * (a fan-out of thousands), not one each, and no gap between what it had and what it adds.
 */
function newItems(path, field, list, setList, signal) {
  let waiting = false
  const fetchNew = async () => {
    const known = new Set(list().map((item) => item.id))
    const added = []
    for (let cursor = ''; added.length < SHOWN; ) {
      const page = await api(`${path}${cursor && `&cursor=${cursor}`}`)
      const items = page[field]
      added.push(...items.filter((item) => !known.has(item.id)))
      if (!page.next_cursor || items.some((item) => known.has(item.id))) break
      cursor = page.next_cursor
    }
    if (signal.aborted) return
    setList((now) => {
      const shown = new Set(now.map((item) => item.id))
      const fresh = added.filter((item) => !shown.has(item.id))
      return [...fresh, ...now].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, SHOWN)
    })
  }
  return () => {
    if (waiting) return
    waiting = true
    setTimeout(() => {
      fetchNew()
        .catch(() => {})
        .finally(() => {
          waiting = false
        })
    }, 1000)
  }
}

/** Jobs, live: the list, then every state and progress event from /v1/events. */
function Jobs({ say }) {
  const [jobs, setJobs] = useState([])
  // What the list shows now, for `newItems` (its effect outlives this render's `jobs`).
  const shown = useRef([])
  shown.current = jobs
  const [progress, setProgress] = useState({})
  useEffect(() => {
    const stop = new AbortController()
    const newest = '/v1/jobs?order=newest&limit=100'
    api(newest)
      .then((page) => setJobs(page.jobs))
      .catch((e) => say(e.message, true))
    const more = newItems(newest, 'jobs', () => shown.current, setJobs, stop.signal)
    follow(
      '/v1/events',
      (type, data) => {
        if (!data.job) return
        if (type === 'progress') setProgress((p) => ({ ...p, [data.job]: data }))
        if (type !== 'state') return
        // A job the list lacks is read with the next batch (`newItems`), not here.
        if (!shown.current.some((j) => j.id === data.job)) more()
        setJobs((list) =>
          list.map((j) =>
            j.id === data.job
              ? { ...j, state: data.state, result: data.result, error: data.error }
              : j,
          ),
        )
      },
      stop.signal,
    )
    return () => stop.abort()
  }, [])
  const act = async (job, action) => {
    await post(`/v1/jobs/${job.id}/${action}`)
    say(`${action === 'retry' ? 'Retrying' : 'Cancelling'} job ${job.id}`)
  }
  return html`<section aria-labelledby="jobs-h">
    <h2 id="jobs-h">Jobs <span class="muted">(live)</span></h2>
    <table>
      <thead><tr><th>Job</th><th>Kind</th><th>Input → output</th><th>State</th><th>Progress</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${jobs.map((j) => {
          const p = progress[j.id]
          const done =
            j.state === 'succeeded' ? 1 : p?.chunks_total ? p.chunks_done / p.chunks_total : 0
          return html`<tr data-job=${j.id} data-state=${j.state}>
            <td><code>${j.id}</code></td>
            <td>${j.type}</td>
            <td>${j.input}${j.output ? html` → ${j.output}` : ''}</td>
            <td><${Badge} state=${j.state} /></td>
            <td><progress max="1" value=${done} aria-label=${`Progress of job ${j.id}`}></progress></td>
            <td>
              ${j.state === 'succeeded' && j.output && html`<button class="act" onClick=${() => download(j.output).catch((e) => say(e.message, true))}>Download output</button>`}
              ${(j.state === 'queued' || j.state === 'running') && html`<button class="act" onClick=${() => act(j, 'cancel').catch((e) => say(e.message, true))}>Cancel</button>`}
              ${j.state === 'failed' && html`<button class="act" onClick=${() => act(j, 'retry').catch((e) => say(e.message, true))}>Retry</button>`}
              ${j.error && html`<span class="error">${j.error.code}</span>`}
            </td>
          </tr>`
        })}
      </tbody>
    </table>
    ${jobs.length === 0 && html`<p class="muted">No jobs yet: start one from a file's Compress button.</p>`}
  </section>`
}

/** A run's steps as a graph: columns by depth in the DAG, edges from each `use` parent. */
function RunGraph({ steps, definition }) {
  const names = Object.keys(definition?.steps ?? steps ?? {})
  const uses = (n) => (definition?.steps?.[n]?.use ?? []).filter((u) => u !== ':input')
  const depth = {}
  const depthOf = (n, seen = new Set()) => {
    if (depth[n] !== undefined) return depth[n]
    if (seen.has(n)) return 0
    seen.add(n)
    depth[n] = Math.max(0, ...uses(n).map((u) => depthOf(u, seen) + 1))
    return depth[n]
  }
  for (const n of names) depthOf(n)
  const columns = []
  for (const n of names) {
    columns[depth[n]] ??= []
    columns[depth[n]].push(n)
  }
  const at = {}
  for (const [x, col] of columns.entries()) {
    for (const [y, n] of col.entries()) at[n] = { x: 20 + x * 190, y: 20 + y * 70 }
  }
  const width = 40 + columns.length * 190
  const height = 40 + Math.max(1, ...columns.map((c) => c.length)) * 70
  const color = {
    succeeded: '#1a7f37',
    failed: '#b42318',
    running: '#9a6700',
    queued: '#5b6470',
    cancelled: '#b42318',
  }
  return html`<svg class="graph" role="img" aria-label="The run's steps and their state" width=${width} height=${height}>
    ${names.flatMap((n) =>
      uses(n).map(
        (u) =>
          html`<line x1=${at[u].x + 150} y1=${at[u].y + 22} x2=${at[n].x} y2=${at[n].y + 22} stroke="#8c959f" />`,
      ),
    )}
    ${names.map((n) => {
      const s = steps?.[n] ?? {}
      return html`<g data-step=${n}>
        <rect x=${at[n].x} y=${at[n].y} width="150" height="44" rx="6" fill="#fff" stroke=${color[s.state] ?? '#8c959f'} stroke-width="2" />
        <text x=${at[n].x + 8} y=${at[n].y + 18}>${n} · ${definition?.steps?.[n]?.kind ?? ''}</text>
        <text x=${at[n].x + 8} y=${at[n].y + 36} fill=${color[s.state] ?? '#5b6470'}>${s.state ?? 'waiting'} ${s.items ? `${s.done}/${s.items}` : ''}</text>
      </g>`
    })}
  </svg>`
}

function Runs({ say }) {
  const [runs, setRuns] = useState([])
  const shown = useRef([])
  shown.current = runs
  const [open, setOpen] = useState(null)
  useEffect(() => {
    const stop = new AbortController()
    const newest = '/v1/runs?order=newest&limit=50'
    api(newest)
      .then((page) => setRuns(page.runs))
      .catch((e) => say(e.message, true))
    const more = newItems(newest, 'runs', () => shown.current, setRuns, stop.signal)
    // Live: a run's state event moves its row, or puts a new run at the top.
    follow(
      '/v1/events',
      (type, data) => {
        if (type !== 'state' || !data.run) return
        if (!shown.current.some((r) => r.id === data.run)) more()
        setRuns((list) =>
          list.map((r) => (r.id === data.run ? { ...r, state: data.state, error: data.error } : r)),
        )
      },
      stop.signal,
    )
    return () => stop.abort()
  }, [])
  useEffect(() => {
    if (!open) return
    const stop = new AbortController()
    const refresh = async () => {
      const run = await api(`/v1/runs/${open.run.id}`)
      setOpen((o) => o && { ...o, run })
    }
    follow(`/v1/runs/${open.run.id}/events`, () => refresh().catch(() => {}), stop.signal)
    return () => stop.abort()
  }, [open?.run.id])
  const show = async (run) => {
    const [full, definition] = await Promise.all([
      api(`/v1/runs/${run.id}`),
      api(`/v1/pipelines/${encodeURIComponent(run.pipeline)}?version=${run.version}`).catch(
        () => null,
      ),
    ])
    setOpen({ run: full, definition })
  }
  return html`<section aria-labelledby="runs-h">
    <h2 id="runs-h">Pipeline runs</h2>
    <table>
      <thead><tr><th>Run</th><th>Pipeline</th><th>State</th><th>Created</th><th></th></tr></thead>
      <tbody>${runs.map(
        (
          r,
        ) => html`<tr data-run=${r.id} data-state=${r.state}><td><code>${r.id}</code></td><td>${r.pipeline} v${r.version}</td><td><${Badge} state=${r.state} /></td><td>${when(r.created)}</td>
          <td><button class="act" onClick=${() => show(r).catch((e) => say(e.message, true))}>Steps</button>
          ${r.error && html`<span class="error">${r.error.code}</span>`}</td></tr>`,
      )}</tbody>
    </table>
    ${runs.length === 0 && html`<p class="muted">No runs yet.</p>`}
    ${
      open &&
      html`<div class="card"><h3>Run ${open.run.id} <${Badge} state=${open.run.state} /></h3>
      ${open.run.error && html`<p class="error" data-run-error>${open.run.error.code}: ${open.run.error.message}</p>`}
      <${RunGraph} steps=${open.run.steps} definition=${open.definition} /></div>`
    }
  </section>`
}

function DeadLetters({ say }) {
  const [topics, setTopics] = useState([])
  const load = () => api('/v1/dlq').then((r) => setTopics(r.topics))
  useEffect(() => {
    load().catch((e) => say(e.message, true))
  }, [])
  const redrive = async (topic) => {
    const result = await post(`/v1/dlq/${encodeURIComponent(topic)}/redrive`)
    say(`Redriven ${result.redriven.length} job(s) from ${topic}`)
    await load()
  }
  return html`<section aria-labelledby="dlq-h">
    <h2 id="dlq-h">Dead letters</h2>
    <table><thead><tr><th>Topic</th><th class="num">Letters</th><th></th></tr></thead>
      <tbody>${topics.map(
        (t) => html`<tr><td>${t.topic}</td><td class="num">${t.messages}</td>
          <td><button class="act" onClick=${() => redrive(t.topic).catch((e) => say(e.message, true))}>Redrive my jobs</button></td></tr>`,
      )}</tbody></table>
    ${topics.length === 0 && html`<p class="muted">No dead letters.</p>`}
  </section>`
}

/**
 * A line chart of samples `[{t, ...series}]` with uPlot, its time axis at least `span` seconds
 * wide, ending at the last sample.
 */
function Chart({ title, samples, series, span }) {
  const box = useRef()
  const plot = useRef()
  useEffect(() => {
    let cancelled = false
    import('/ui/vendor/uPlot.esm.js').then(({ default: UPlot }) => {
      if (cancelled || !box.current) return
      // Drawn from two samples on: uPlot widens a single time to 86 400 / 1e-3 s (years).
      const shown = samples.length < 2 ? [] : samples
      const data = [
        shown.map((s) => s.t / 1000),
        ...series.map((name) => shown.map((s) => s[name] ?? null)),
      ]
      if (plot.current) {
        plot.current.setData(data)
        return
      }
      const colors = ['#0b5cad', '#b42318', '#1a7f37', '#9a6700']
      plot.current = new UPlot(
        {
          width: Math.min(560, box.current.clientWidth || 560),
          height: 200,
          series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i % colors.length] }))],
          scales: {
            x: {
              time: true,
              // Before the samples: the last `span` seconds (uPlot's own would be 1970).
              range: (_u, min, max) => {
                const end = max ?? Date.now() / 1000
                return [Math.min(min ?? end, end - span), end]
              },
            },
          },
        },
        data,
        box.current,
      )
    })
    return () => {
      cancelled = true
    }
  }, [samples])
  return html`<figure class="card"><figcaption>${title}</figcaption><div ref=${box}></div></figure>`
}

/** What is stored now, what deduplication saved and the images of the last day. */
function UsageFigures({ stats }) {
  const t = stats.totals
  const images = Object.entries(t.images)
    .map(([format, n]) => `${format} ${n}`)
    .join(', ')
  return html`<dl class="figures" aria-label="Usage figures">
    <dt>Stored now</dt><dd>${stats.stored.files} file${stats.stored.files === 1 ? '' : 's'}, ${bytes(stats.stored.bytes)}</dd>
    <dt>Saved by deduplication (last day)</dt><dd>${bytes(t.bytes_deduplicated)}</dd>
    <dt>Images stored (last day)</dt><dd>${images || 'none'}</dd>
  </dl>`
}

/** Queue depth and lag and the usage statistics (read every 2 s while shown), storage nodes. */
function System({ say }) {
  const [topics, setTopics] = useState(null)
  const [samples, setSamples] = useState([])
  const [stats, setStats] = useState(null)
  const [nodes, setNodes] = useState(null)
  useEffect(() => {
    let timer
    const sample = async () => {
      // The statistics follow the event history a few seconds behind: read again while shown.
      api('/v1/stats?bucket=hour')
        .then(setStats)
        .catch(() => setStats(null))
      try {
        const queue = await api('/v1/admin/queue')
        setTopics(queue.topics)
        const waiting = queue.topics.reduce(
          (sum, t) => sum + t.groups.reduce((s, g) => s + g.lag, 0),
          0,
        )
        const pending = queue.topics.reduce(
          (sum, t) => sum + t.groups.reduce((s, g) => s + g.pending, 0),
          0,
        )
        setSamples((s) => [...s.slice(-299), { t: Date.now(), waiting, pending }])
      } catch (e) {
        if (e.status === 403) setTopics([])
        else say(e.message, true)
      }
      timer = setTimeout(sample, 2000)
    }
    sample()
    api('/v1/admin/storage')
      .then(setNodes)
      .catch(() => setNodes(null))
    return () => clearTimeout(timer)
  }, [])
  // Every hour of the span, empty ones as zeros, so the axis is the span asked for.
  const statSamples = []
  if (stats) {
    const byStart = new Map(stats.buckets.map((b) => [Date.parse(b.start), b]))
    for (let t = Date.parse(stats.from); t < Date.parse(stats.to); t += 3_600_000) {
      const b = byStart.get(t)
      statSamples.push({
        t,
        uploads: b?.uploads ?? 0,
        jobs: b?.jobs_ended ?? 0,
        'MiB in': (b?.bytes_in ?? 0) / 1048576,
      })
    }
  }
  const admin = topics !== null && topics.length > 0
  return html`<section aria-labelledby="sys-h">
    <h2 id="sys-h">System</h2>
    <div class="grid">
      ${admin && html`<${Chart} title="Queue: messages waiting and in flight (every 2 s while shown)" samples=${samples} series=${['waiting', 'pending']} span=${120} />`}
      ${stats && html`<${Chart} title="Usage by hour" samples=${statSamples} series=${['uploads', 'downloads', 'jobs', 'MiB in']} span=${86_400} />`}
    </div>
    ${stats && html`<${UsageFigures} stats=${stats} />`}
    ${
      topics === null
        ? html`<p class="muted">Reading the queue…</p>`
        : topics.length === 0
          ? html`<p class="muted">Queue figures are for administrators.</p>`
          : html`
      <table><thead><tr><th>Topic</th><th class="num">Messages</th><th>Group</th><th class="num">Lag</th><th class="num">In flight</th></tr></thead>
        <tbody>${topics.flatMap((t) =>
          (t.groups.length ? t.groups : [{ group: '', lag: 0, pending: 0 }]).map(
            (g, i) =>
              html`<tr><td>${i === 0 ? t.topic : ''}</td><td class="num">${i === 0 ? t.messages : ''}</td><td>${g.group}</td><td class="num">${g.lag}</td><td class="num">${g.pending}</td></tr>`,
          ),
        )}</tbody></table>`
    }
    ${
      nodes?.nodes &&
      html`<h3>Storage nodes</h3><table><thead><tr><th>Node</th><th>State</th><th class="num">Used</th></tr></thead>
      <tbody>${nodes.nodes.map((n) => html`<tr><td>${n.url ?? n.id}</td><td><${Badge} state=${n.up === false ? 'down' : (n.state ?? 'up')} /></td><td class="num">${bytes(n.used)}</td></tr>`)}</tbody></table>`
    }
  </section>`
}

const VIEWS = { Files, Jobs, Runs, 'Dead letters': DeadLetters, System }

function App() {
  const [state, setState] = useState('checking')
  const [view, setView] = useState('Files')
  const [message, setMessage] = useState(null)
  const say = (text, error = false) => setMessage({ text, error })
  useEffect(() => {
    // Without API keys (loopback), every request is the default client: no sign-in.
    api('/v1/files?limit=1')
      .then(() => setState('in'))
      .catch((e) => setState(e.status === 401 ? 'out' : 'in'))
  }, [])
  if (state === 'checking') return html`<p class="loading">Loading Piper…</p>`
  if (state === 'out') return html`<${SignIn} onSignedIn=${() => setState('in')} />`
  const View = VIEWS[view]
  return html`<header>
      <h1>Piper</h1>
      <nav aria-label="Sections">
        ${Object.keys(VIEWS).map(
          (name) =>
            html`<button aria-current=${view === name ? 'page' : undefined} onClick=${() => setView(name)}>${name}</button>`,
        )}
      </nav>
    </header>
    <main>
      <${Status} message=${message} />
      <${View} say=${say} />
    </main>`
}

render(html`<${App} />`, document.getElementById('app'))
