import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { it, type TestContext } from 'node:test'
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1'
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import pkg from '../../package.json' with { type: 'json' }
import { checkShared } from '../../src/cli/commands/roles.ts'
import { loadConfig, SETTINGS } from '../../src/config/index.ts'
import { taskTopic, WORKER_GROUP } from '../../src/jobs/index.ts'
import { RUN_GROUP, RUN_TOPIC } from '../../src/pipelines/index.ts'
import { streamOf } from '../../src/queue/nats-names.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const OVERLAYS = ['staging', 'production']
const HEALTH_PATHS = ['/livez', '/healthz', '/readyz']

/** Each kind the manifests use, with the schema it is checked against (offline, from npm). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
}

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML walked by path; the schemas check its shape
type Manifest = Record<string, any>

/**
 * `kubectl kustomize DIR` (kustomize built into kubectl), or undefined when kubectl is missing
 * here: a tool, not a server, so the test skips even in CI (the settings and the base's
 * manifests are still checked without it, below).
 */
function kustomize(t: TestContext, dir: string): Manifest[] | undefined {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
  if (probe.status !== 0) {
    t.skip('kubectl (with kustomize) is not installed here; the overlays are not built')
    return undefined
  }
  const out = execFileSync('kubectl', ['kustomize', join(ROOT, dir)], { encoding: 'utf8' })
  return parseAllDocuments(out).map((d) => d.toJS() as Manifest)
}

for (const overlay of OVERLAYS) {
  it(`deploy/overlays/${overlay}: builds, every manifest fits its Kubernetes schema, every setting is one Piper knows with a value it takes`, (t) => {
    const manifests = kustomize(t, `deploy/overlays/${overlay}`)
    if (!manifests) return
    const namespace = parse(
      readFileSync(join(ROOT, 'deploy/overlays', overlay, 'kustomization.yaml'), 'utf8'),
    ).namespace
    for (const m of manifests) {
      const model = MODELS[`${m.apiVersion}/${m.kind}`]
      assert.ok(model, `${m.apiVersion} ${m.kind}: add its schema to MODELS`)
      new model(m as never).validate()
      assert.equal(m.metadata.namespace, namespace)
    }
    const config = manifests.find((m) => m.kind === 'ConfigMap')!
    assert.deepEqual(config.data, settingsOf(overlay))

    const set = manifests.find((m) => m.kind === 'StatefulSet')!
    const pod = set.spec.template.spec
    for (const c of [...pod.initContainers, ...pod.containers]) {
      assert.match(c.image, /^ghcr\.io\/[^:]+:(main|v\d+\.\d+\.\d+)$/, 'a pinned image')
      assert.ok(['up', 'keys'].includes(c.args[0]), `${c.name} runs a piper command`)
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        if (c[probe]) assert.ok(HEALTH_PATHS.includes(c[probe].httpGet.path), probe)
      }
    }
    assert.equal(pod.containers[0].ports[0].containerPort, 8080, "the Dockerfile's PIPER_PORT")
    assert.equal(set.spec.replicas, 1, 'one piper up per data folder')
  })
}

/** The `piper-config` literals of the base merged with an overlay's, as kustomize merges them. */
function settingsOf(overlay: string): Record<string, string> {
  const literals = (dir: string) => {
    const k = parse(readFileSync(join(ROOT, 'deploy', dir, 'kustomization.yaml'), 'utf8'))
    const generator = k.configMapGenerator?.find((g: { name: string }) => g.name === 'piper-config')
    return Object.fromEntries(
      (generator?.literals ?? []).map((l: string) => [
        l.slice(0, l.indexOf('=')),
        l.slice(l.indexOf('=') + 1),
      ]),
    )
  }
  return { ...literals('base'), ...literals(`overlays/${overlay}`) }
}

it('deploy/: every setting is one Piper knows, with a value it takes; the base manifests fit their schemas', () => {
  const known = new Set(SETTINGS.map((s) => s.env))
  for (const overlay of OVERLAYS) {
    const env = settingsOf(overlay)
    for (const name of Object.keys(env))
      assert.ok(known.has(name), `${overlay}: ${name} is no setting`)
    loadConfig({ env, flags: {} }) // throws naming a value Piper would refuse
  }
  for (const file of ['statefulset.yaml', 'service.yaml']) {
    const m = parse(readFileSync(join(ROOT, 'deploy/base', file), 'utf8'))
    new MODELS[`${m.apiVersion}/${m.kind}`]!(m as never).validate()
  }
})

it('deploy/cluster: gateways and workers on shared stores build and fit their schemas; roles, probes, scaling on what waits', (t) => {
  const manifests = kustomize(t, 'deploy/cluster')
  if (!manifests) return
  for (const m of manifests) {
    const model = MODELS[`${m.apiVersion}/${m.kind}`]
    assert.ok(model, `${m.apiVersion} ${m.kind}: add its schema to MODELS`)
    new model(m as never).validate()
  }
  const config = manifests.find((m) => m.kind === 'ConfigMap')!
  const known = new Set(SETTINGS.map((s) => s.env))
  for (const name of Object.keys(config.data)) assert.ok(known.has(name), `${name} is no setting`)
  // With the Secret's PIPER_META, each role accepts these stores (checkShared would refuse others).
  const env = { ...config.data, PIPER_META: 'postgres://piper@db/piper' }
  for (const role of ['gateway', 'worker'] as const)
    checkShared(role, loadConfig({ env, flags: {} }).config)
  const deployments = manifests.filter((m) => m.kind === 'Deployment')
  assert.deepEqual(deployments.map((d) => d.spec.template.spec.containers[0].args[0]).sort(), [
    'gateway',
    'worker',
  ])
  for (const d of deployments) {
    const c = d.spec.template.spec.containers[0]
    assert.ok(HEALTH_PATHS.includes(c.readinessProbe.httpGet.path))
    assert.match(c.image, /^ghcr\.io\/[^:]+:v\d+\.\d+\.\d+$/)
  }
  const scaled = manifests.find((m) => m.kind === 'ScaledObject')!
  assert.equal(scaled.spec.scaleTargetRef.name, 'piper-worker')
  // The streams and consumers KEDA reads are the ones Piper makes on NATS.
  assert.deepEqual(
    scaled.spec.triggers.map((tr: Manifest) => [tr.metadata.stream, tr.metadata.consumer]),
    [
      [streamOf(taskTopic('compress')), WORKER_GROUP],
      [streamOf(taskTopic('decompress')), WORKER_GROUP],
      [streamOf(RUN_TOPIC), RUN_GROUP],
    ],
  )
})

it('deploy/cluster-piper: the queue and storage nodes as StatefulSets, workers scaled by metrics-api on /v1/admin/queue/lag', async (t) => {
  const manifests = kustomize(t, 'deploy/cluster-piper')
  if (!manifests) return
  for (const m of manifests) {
    const model = MODELS[`${m.apiVersion}/${m.kind}`]
    assert.ok(model, `${m.apiVersion} ${m.kind}: add its schema to MODELS`)
    new model(m as never).validate()
    assert.equal(m.metadata.namespace, 'piper')
  }
  const config = manifests.find((m) => m.kind === 'ConfigMap')!
  const env = { ...config.data, PIPER_META: 'postgres://piper@db/piper' }
  for (const role of ['gateway', 'worker'] as const)
    checkShared(role, loadConfig({ env, flags: {} }).config)
  const sets = Object.fromEntries(
    manifests.filter((m) => m.kind === 'StatefulSet').map((m) => [m.metadata.name, m]),
  )
  const queue = sets['piper-queue']!
  const storage = sets['piper-storage']!
  assert.deepEqual(queue.spec.template.spec.containers[0].args.slice(0, 2), ['queue', 'serve'])
  assert.deepEqual(storage.spec.template.spec.containers[0].args.slice(0, 2), ['storage', 'serve'])
  // PIPER_QUEUE and PIPER_BLOBS name the pods the StatefulSets make, on their headless Services.
  assert.equal(
    config.data.PIPER_QUEUE,
    `piper://${queue.metadata.name}-0.${queue.spec.serviceName}:7420`,
  )
  const nodes = Array.from(
    { length: storage.spec.replicas },
    (_, i) => `${storage.metadata.name}-${i}.${storage.spec.serviceName}:7601`,
  )
  assert.ok(config.data.PIPER_BLOBS.startsWith(`nodes://${nodes.join(',')}?`))
  for (const set of [queue, storage]) {
    assert.ok(set.spec.volumeClaimTemplates[0].spec.resources.requests.storage, 'a volume each')
    const service: Manifest | undefined = manifests.find(
      (m) => m.kind === 'Service' && m.metadata.name === set.spec.serviceName,
    )
    assert.equal(service?.spec.clusterIP, 'None', 'a headless Service')
  }
  // KEDA reads the gateways' lag endpoint with the administrator's key; the field exists there.
  const scaled = manifests.find((m) => m.kind === 'ScaledObject')!
  assert.equal(scaled.spec.triggers.length, 1)
  const [trigger] = scaled.spec.triggers
  assert.equal(trigger.type, 'metrics-api')
  const url = new URL(trigger.metadata.url)
  assert.equal(url.pathname, '/v1/admin/queue/lag')
  assert.equal(url.hostname.split('.')[0], 'piper-gateway')
  assert.ok(['lag', 'pending', 'waiting'].includes(trigger.metadata.valueLocation))
  const auth = manifests.find((m) => m.kind === 'TriggerAuthentication')!
  assert.equal(trigger.authenticationRef.name, auth.metadata.name)
  assert.equal(auth.spec.secretTargetRef[0].parameter, 'token')
})

it('deploy/argocd: each Application fits the Argo CD schema and follows an overlay into its namespace', () => {
  for (const overlay of OVERLAYS) {
    const app = parse(readFileSync(join(ROOT, 'deploy/argocd', `${overlay}.yaml`), 'utf8'))
    new Application(app).validate()
    assert.equal(app.spec.source.path, `deploy/overlays/${overlay}`)
    assert.ok(existsSync(join(ROOT, app.spec.source.path, 'kustomization.yaml')))
    const kustomization = parse(
      readFileSync(join(ROOT, app.spec.source.path, 'kustomization.yaml'), 'utf8'),
    )
    assert.equal(app.spec.destination.namespace, kustomization.namespace)
    assert.equal(app.spec.source.targetRevision, 'main')
  }
})

it('.github/workflows/ci.yml runs .ci/run on every push and pull request, with PostgreSQL and NATS JetStream, on the Node of package.json', () => {
  const ci = parse(readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8'))
  assert.ok('push' in ci.on && 'pull_request' in ci.on)
  assert.deepEqual(Object.keys(ci.jobs), ['test'])
  const job = ci.jobs.test
  assert.ok(job['timeout-minutes'] <= 90)
  assert.equal(job.services.postgres.env.POSTGRES_HOST_AUTH_METHOD, 'trust')
  assert.deepEqual(job.services.postgres.ports, ['5432:5432'])
  const steps = job.steps as { uses?: string; run?: string; with?: Record<string, string> }[]
  assert.equal(
    steps.find((s) => s.uses?.startsWith('actions/setup-node'))?.with?.['node-version-file'],
    'package.json',
  )
  assert.ok(
    steps.some((s) => /nats\S* -js\b/.test(s.run ?? '')),
    'NATS with JetStream',
  )
  assert.ok(
    steps.some((s) => /\bbash \.ci\/run\b/.test(s.run ?? '')),
    'the same .ci/run',
  )
  assert.ok(existsSync(join(ROOT, '.ci/run')))
})

it('.github/workflows/release.yml builds the image of a tag and proposes it to production', () => {
  const release = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8'))
  assert.deepEqual(release.on.push.tags, ['v*'])
  const build = release.jobs.image.steps.find((s: { uses?: string }) =>
    s.uses?.startsWith('docker/build-push-action'),
  )
  assert.equal(build.with.context, '.')
  const promote = release.jobs.promote.steps.map((s: { run?: string }) => s.run ?? '').join('\n')
  assert.match(promote, /cd deploy\/overlays\/production/)
  assert.match(promote, /kustomize edit set image "piper=/)
})

it('the Dockerfile runs bin/piper.js on the Node major of package.json', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const major = /\d+/.exec(pkg.engines.node)![0]
  const bases = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => m[1])
  assert.ok(bases.length >= 1 && bases.every((b) => b === major), `FROM node:${major}`)
  assert.match(dockerfile, /^ENTRYPOINT \[.*"bin\/piper\.js"\]$/m)
  assert.match(dockerfile, /^COPY src \.\/src$/m)
  assert.match(dockerfile, /^COPY ui \.\/ui$/m, 'the dashboard is in the image')
  assert.match(dockerfile, /PIPER_PORT=8080/)
})
