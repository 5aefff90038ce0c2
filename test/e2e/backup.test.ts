import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { readSse } from '../../src/cli/sse-reader.ts'
import { cleanEnv, PIPER_BIN, runPiper } from '../helpers/cli.ts'
import { createJob, download, finished, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer, S3, S3_ACCESS } from '../helpers/services.ts'

after(dropTestSchemas)

interface Manifest {
  id: string
  metadata: { rows: Record<string, number> }
  chunks: { count: number; bytes: number; copied: number; copiedBytes: number }
}

/** `piper backup …` as a process; stdout parsed as JSON when `json`. */
async function backup(args: string[], env: Record<string, string> = {}) {
  const run = await runPiper(['backup', ...args], { env: cleanEnv(env) })
  return { ...run, json: () => JSON.parse(run.stdout) as Record<string, unknown> }
}

/** Uploads `count` files of random bytes (each its own chunks) under `prefix`; name → bytes. */
async function fill(base: string, prefix: string, count: number, size: number) {
  const files = new Map<string, Buffer>()
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(size)
    await putFile(base, `${prefix}${i}.bin`, bytes)
    files.set(`${prefix}${i}.bin`, bytes)
  }
  return files
}

async function compressed(base: string, input: string) {
  const job = await createJob(base, { type: 'compress', input })
  assert.equal((await finished(base, job.id)).state, 'succeeded')
  return job.id
}

it('piper backup: back up while serving, the second copies only new chunks, a SIGKILLed one is reported incomplete and superseded, a restore brings every file and job back byte for byte', async () => {
  const root = await mkdtemp(join(tmpdir(), 'piper-backup-'))
  const data = join(root, 'data')
  const to = `file:${join(root, 'backups')}`
  const piper = await startPiper(['--chunk-size', '256K'], {}, data)
  let restored: Awaited<ReturnType<typeof startPiper>> | undefined
  try {
    const first = await fill(piper.url, 'a/', 8, 300_000)
    const job1 = await compressed(piper.url, 'a/0.bin')

    // 1: everything is new to the target.
    const one = await backup(['create', '--to', to, '--data', data])
    assert.equal(one.code, 0, one.stderr)
    const m1 = one.json() as unknown as Manifest
    assert.equal(m1.metadata.rows.files, 9, 'eight uploads and a job output')
    assert.equal(m1.chunks.copied, m1.chunks.count)

    // 2: Piper kept writing; the backup copies the new chunks only (the random bytes share none).
    const second = await fill(piper.url, 'b/', 3, 300_000)
    const job2 = await compressed(piper.url, 'b/0.bin')
    const two = await backup(['create', '--to', to, '--data', data])
    assert.equal(two.code, 0, two.stderr)
    const m2 = two.json() as unknown as Manifest
    assert.equal(m2.metadata.rows.files, 13)
    assert.ok(m2.chunks.count > m1.chunks.count)
    assert.equal(m2.chunks.copied, m2.chunks.count - m1.chunks.count, 'only the new chunks copied')
    assert.equal(m2.chunks.copiedBytes, m2.chunks.bytes - m1.chunks.bytes)
    assert.ok(m2.chunks.copiedBytes < m2.chunks.bytes / 2)

    // 3: cut off by SIGKILL while it copies chunks (slowed to 64 KiB/s so it is mid-way).
    await fill(piper.url, 'c/', 2, 300_000)
    const child = spawn(
      process.execPath,
      [
        PIPER_BIN,
        'backup',
        'create',
        '--to',
        to,
        '--data',
        data,
        '--backup-bytes-per-second',
        '64K',
      ],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        if (/chunks checked/.test(stderr)) resolve()
      })
      child.once('exit', (code) =>
        reject(new Error(`backup ended (${code}) before copying: ${stderr}`)),
      )
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('close', resolve))
    const listed = await backup(['ls', '--from', to, '--data', data])
    assert.equal(listed.code, 0, listed.stderr)
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
    assert.deepEqual(
      rows.map((r) => r[1]),
      ['complete', 'complete', 'incomplete'],
    )
    const cut = rows[2]![0]!
    const verifyCut = await backup(['verify', cut, '--from', to, '--data', data])
    assert.equal(verifyCut.code, 1)
    assert.match(verifyCut.stderr, /incomplete.*E_BACKUP_INCOMPLETE/)
    const four = await backup(['create', '--to', to, '--data', data])
    assert.equal(four.code, 0, four.stderr)
    const m4 = four.json() as unknown as Manifest
    assert.equal(m4.metadata.rows.files, 15)
    const relisted = (await backup(['ls', '--from', to, '--data', data])).stdout
    assert.doesNotMatch(relisted, /incomplete/, 'the complete backup superseded the cut one')
    assert.equal(relisted.trim().split('\n').length, 3)

    const verified = await backup(['verify', m2.id, '--from', to, '--data', data])
    assert.equal(verified.code, 0, verified.stderr)
    assert.equal(verified.json().chunks, m2.chunks.count)

    // Restore backup 2 after the data folder is gone.
    assert.equal(await piper.stop(), 0, piper.output())
    await rm(data, { recursive: true })
    const again = join(root, 'restored')
    const restore = await backup(['restore', m2.id, '--from', to, '--data', again])
    assert.equal(restore.code, 0, restore.stderr)
    assert.equal((restore.json().rows as Record<string, number>).files, 13)
    const twice = await backup(['restore', m2.id, '--from', to, '--data', again])
    assert.equal(twice.code, 1)
    assert.match(twice.stderr, /E_RESTORE_NOT_EMPTY/)

    restored = await startPiper([], {}, again)
    for (const [name, bytes] of [...first, ...second]) {
      assert.deepEqual(await download(restored.url, name), bytes, name)
    }
    const gone = await fetch(`${restored.url}/v1/files/c/0.bin`)
    assert.equal(gone.status, 404, 'a file written after backup 2 is not in it')
    for (const id of [job1, job2]) {
      const job = (await (await fetch(`${restored.url}/v1/jobs/${id}`)).json()) as { state: string }
      assert.equal(job.state, 'succeeded')
    }
    const job3 = await compressed(restored.url, 'b/1.bin')
    assert.ok(job3)
  } finally {
    await piper.stop()
    await restored?.stop()
    await rm(root, { recursive: true, force: true })
  }
})

it('piper backup on PostgreSQL to S3: restored into another PostgreSQL schema, jobs go on numbering their events', async (t) => {
  if (!(await requireServer(t, POSTGRES)) || !(await requireServer(t, S3))) return
  const root = await mkdtemp(join(tmpdir(), 'piper-backup-pg-'))
  const env = {
    AWS_ACCESS_KEY_ID: S3_ACCESS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_ACCESS.credentials.secretAccessKey,
  }
  const to = `s3://piper-tests/backups-${randomUUID()}?endpoint=${encodeURIComponent(S3_ACCESS.endpoint)}&region=us-east-1`
  const meta = freshPostgresUrl()
  const piper = await startPiper(['--meta', meta], env, join(root, 'a'))
  let restored: Awaited<ReturnType<typeof startPiper>> | undefined
  try {
    const files = await fill(piper.url, 'p/', 3, 200_000)
    const job = await compressed(piper.url, 'p/1.bin')
    const made = await backup(
      ['create', '--to', to, '--meta', meta, '--data', join(root, 'a')],
      env,
    )
    assert.equal(made.code, 0, made.stderr)
    assert.equal((made.json().source as { meta: string }).meta, 'postgres')
    assert.equal(await piper.stop(), 0, piper.output())

    const meta2 = freshPostgresUrl()
    const b = join(root, 'b')
    const restore = await backup(
      ['restore', 'latest', '--from', to, '--meta', meta2, '--data', b],
      env,
    )
    assert.equal(restore.code, 0, restore.stderr)
    restored = await startPiper(['--meta', meta2], env, b)
    for (const [name, bytes] of files) assert.deepEqual(await download(restored.url, name), bytes)
    const back = (await (await fetch(`${restored.url}/v1/jobs/${job}`)).json()) as { state: string }
    assert.equal(back.state, 'succeeded')
    // New job events get ids after the restored ones (the sequence was moved on).
    await compressed(restored.url, 'p/2.bin')
  } finally {
    await piper.stop()
    await restored?.stop()
    await rm(root, { recursive: true, force: true })
  }
})

it('/v1/admin/backups: an administrator starts a backup while Piper serves and follows it over SSE to its end; others get 403; without PIPER_BACKUPS 409', async () => {
  const root = await mkdtemp(join(tmpdir(), 'piper-backup-api-'))
  const data = join(root, 'data')
  const to = `file:${join(root, 'backups')}`
  const keyOf = async (client: string) => {
    const run = await runPiper(['keys', 'create', client, '--data', data], { env: cleanEnv() })
    assert.equal(run.code, 0, run.stderr)
    return run.stdout.trim()
  }
  const ops = await keyOf('ops')
  const alice = await keyOf('alice')
  const piper = await startPiper(['--backups', to, '--admin-clients', 'ops'], {}, data)
  const api = (path: string, key: string, method = 'GET') =>
    fetch(`${piper.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } })
  try {
    const res = await fetch(`${piper.url}/v1/files/x.bin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice}` },
      body: randomBytes(100_000),
    })
    assert.equal(res.status, 201)
    assert.equal((await api('/v1/admin/backups', alice, 'POST')).status, 403)
    const started = await api('/v1/admin/backups', ops, 'POST')
    assert.equal(started.status, 202, await started.clone().text())
    const events = await api('/v1/admin/backups/current/events', ops)
    assert.equal(events.status, 200)
    const seen = []
    for await (const event of readSse(events.body!)) seen.push(event)
    assert.equal(seen.at(-1)?.event, 'end')
    const end = JSON.parse(seen.at(-1)!.data) as { state: string; backup: string; copied: number }
    assert.equal(end.state, 'done', seen.at(-1)!.data)
    assert.equal(end.copied, 1)
    const listed = (await (await api('/v1/admin/backups', ops)).json()) as {
      backups: { id: string; state: string }[]
    }
    assert.deepEqual(
      listed.backups.map((b) => [b.id, b.state]),
      [[end.backup, 'complete']],
    )
    // The CLI sees the same backups, and may make the next one (the lease was given up).
    const next = await backup(['create', '--to', to, '--data', data])
    assert.equal(next.code, 0, next.stderr)
    assert.equal((next.json().chunks as { copied: number }).copied, 0)
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
  const plain = await startPiper([], {}, join(root, 'other'))
  try {
    const res = await fetch(`${plain.url}/v1/admin/backups`, { method: 'POST' })
    assert.equal(res.status, 409)
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_BACKUP_TARGET')
  } finally {
    await plain.stop()
    await rm(root, { recursive: true, force: true })
  }
})
