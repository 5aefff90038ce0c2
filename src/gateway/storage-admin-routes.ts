import type { StorageRepairs } from '../app/index.ts'
import type { NodeRegistry } from '../meta/index.ts'
import { schemaCheck } from '../schemas/index.ts'
import { type NodesBlobStore, registerNode } from '../storage/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { readJson } from './json-body.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'
import { streamStatus } from './status-events.ts'

export interface StorageAdminOptions {
  store: NodesBlobStore
  /** With `nodes://registry`: nodes are added, drained and removed here. */
  registry?: NodeRegistry
  repairs: StorageRepairs
  /** The storage nodes' shared secret (a node is asked who it is before it joins). */
  token: string | undefined
}

const BODY_LIMIT = 16 * 1024

/** `POST /v1/admin/storage/nodes`: the API's description and the request's check. */
export const STORAGE_NODE_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: {
    address: {
      type: 'string',
      pattern: '^(https?://)?[A-Za-z0-9.:\\[\\]-]+$',
      'x-must': 'host:port of a storage node',
    },
  },
  required: ['address'],
  additionalProperties: false,
} as const

/** `POST /v1/admin/storage/repair`: `verify` reads every chunk back (slower, finds rot). */
export const REPAIR_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: { verify: { type: 'boolean' } },
  additionalProperties: false,
} as const

const checkNodeBody = schemaCheck(STORAGE_NODE_REQUEST)
const checkRepairBody = schemaCheck(REPAIR_REQUEST)

/**
 * `/v1/admin/storage`: the storage nodes and their health, adding, draining and removing nodes,
 * and repair passes (heal, rebalance, scrub) with their progress as Server-Sent Events.
 */
export function storageAdminRoutes(
  router: Router,
  o: StorageAdminOptions,
  clients: ClientResolver,
  policy: RoutePolicy,
  shutdown: AbortSignal,
): void {
  const admin = (req: Parameters<ClientResolver['resolve']>[0]) => clients.resolveAdmin(req)
  const registry = () => {
    if (!o.registry) {
      throw new HttpError(
        409,
        'E_STORAGE_STATIC',
        'the storage nodes are listed in PIPER_BLOBS; use nodes://registry to manage them here',
      )
    }
    return o.registry
  }

  router.on('GET', '/v1/admin/storage', async ({ req, res }) => {
    await admin(req)
    const nodes = await o.store.nodeStatus()
    sendJson(res, 200, {
      redundancy: o.store.redundancy,
      managed: o.registry !== undefined,
      nodes,
      degradedReads: o.store.degradedReads,
      repair: o.repairs.last ?? null,
    })
  })

  router.on('POST', '/v1/admin/storage/nodes', async ({ req, res }) => {
    await admin(req)
    const body = await readJson(req, BODY_LIMIT)
    const problem = checkNodeBody(body, '')
    if (problem) throw new HttpError(400, 'E_BAD_REQUEST', problem)
    const { address } = body as { address: string }
    let saved: Awaited<ReturnType<typeof registerNode>>
    try {
      saved = await registerNode(registry(), address, o.token)
    } catch (error) {
      if (error instanceof HttpError) throw error
      throw new HttpError(
        502,
        'E_STORAGE_NODE',
        `no storage node answers at ${address}: ${(error as Error).message}`,
        { cause: error },
      )
    }
    await o.store.refresh()
    sendJson(res, 201, saved)
  })

  router.on('POST', '/v1/admin/storage/nodes/*', async ({ req, res, tail }) => {
    await admin(req)
    const [id = '', action] = tail.split('/', 2)
    if (action !== 'drain') throw new HttpError(404, 'E_NOT_FOUND', `no route for ${tail}`)
    await setState(registry(), id, 'draining')
    await o.store.refresh()
    res.writeHead(204).end()
  })

  router.on('DELETE', '/v1/admin/storage/nodes/*', async ({ req, res, tail }) => {
    await admin(req)
    await setState(registry(), tail, 'removed')
    await o.store.refresh()
    res.writeHead(204).end()
  })

  router.on('POST', '/v1/admin/storage/repair', async ({ req, res }) => {
    await admin(req)
    const body = await readJson(req, BODY_LIMIT)
    const problem = checkRepairBody(body, '')
    if (problem) throw new HttpError(400, 'E_BAD_REQUEST', problem)
    const status = await o.repairs.request({ verify: body.verify === true })
    if (!status) {
      throw new HttpError(
        409,
        'E_REPAIR_ELSEWHERE',
        'another process of the cluster is running storage repairs now; try again later',
      )
    }
    sendJson(res, 202, status, { location: '/v1/admin/storage/repair' })
  })

  router.on('GET', '/v1/admin/storage/repair', async ({ req, res }) => {
    await admin(req)
    if (!o.repairs.last) {
      throw new HttpError(404, 'E_NOT_FOUND', 'this process has run no storage repair yet')
    }
    sendJson(res, 200, o.repairs.last)
  })

  // The pass's status as `progress` events, then one `end` event when it has ended.
  router.on('GET', '/v1/admin/storage/repair/events', async ({ req, res }) => {
    const client = await admin(req)
    if (!o.repairs.last) {
      throw new HttpError(404, 'E_NOT_FOUND', 'this process has run no storage repair yet')
    }
    await streamStatus(req, res, o.repairs, policy.streams.take(client), shutdown)
  })
}

async function setState(
  registry: NodeRegistry,
  id: string,
  state: 'draining' | 'removed',
): Promise<void> {
  if (!(await registry.setStorageNodeState(id, state))) {
    throw new HttpError(404, 'E_NOT_FOUND', `no storage node ${id}`)
  }
}
