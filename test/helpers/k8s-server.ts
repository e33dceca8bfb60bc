import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

// A small Kubernetes API server that speaks just the subset the releaser uses, over plain HTTP on
// 127.0.0.1: nodes get/list/patch, pods listed by spec.nodeName, policy/v1 evictions with
// PodDisruptionBudget arithmetic (429 when a budget would be violated), pods deleted once their grace
// period has passed, events create. Tests shape the cluster through the methods below and read the
// call counters; `hang` and `refuse` simulate an API server that stops answering or is gone.

export interface FakeTaint {
  key: string;
  value?: string;
  effect: string;
}

export interface FakeNode {
  metadata: { name: string; uid: string; resourceVersion: string; labels: Record<string, string> };
  spec: { providerID?: string; unschedulable?: boolean; taints?: FakeTaint[] };
  status: { addresses: { type: string; address: string }[] };
}

export interface FakePod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec: {
    nodeName: string;
    terminationGracePeriodSeconds?: number;
    volumes?: { name: string; emptyDir?: object }[];
    containers: { name: string; image: string }[];
  };
  status: { phase: string; conditions: { type: string; status: string }[] };
}

export interface FakePdb {
  namespace: string;
  name: string;
  matchLabels: Record<string, string>;
  minAvailable: number;
}

export interface EvictionRecord {
  namespace: string;
  name: string;
  gracePeriodSeconds?: number;
  status: number;
  at: number;
}

export interface PodOptions {
  namespace?: string;
  labels?: Record<string, string>;
  /** 'ReplicaSet' (default), 'DaemonSet', 'StatefulSet', 'Job', or 'none' for an unmanaged pod. */
  owner?: string;
  mirror?: boolean;
  graceSeconds?: number;
  emptyDir?: boolean;
  ready?: boolean;
}

export interface K8sServer {
  url: string;
  port: number;
  nodes: Map<string, FakeNode>;
  /** Pods by "namespace/name". */
  pods: Map<string, FakePod>;
  pdbs: FakePdb[];
  events: Record<string, unknown>[];
  evictions: EvictionRecord[];
  /** Pods removed after their grace period, with when (epoch ms). */
  deletions: { namespace: string; name: string; at: number }[];
  /** Request counts keyed "METHOD route", e.g. "PATCH node", "POST eviction". */
  calls: Record<string, number>;
  /** Content-Type of every node patch, in order. */
  patchTypes: string[];
  totalCalls(): number;
  addNode(
    name: string,
    opts?: {
      instanceId?: string;
      az?: string;
      dnsName?: string;
      hostnameLabel?: string;
      providerId?: string | null;
    },
  ): FakeNode;
  addPod(nodeName: string, name: string, opts?: PodOptions): FakePod;
  addPdb(pdb: Omit<FakePdb, 'namespace'> & { namespace?: string }): void;
  setReady(namespace: string, name: string, ready: boolean): void;
  /** Requests are accepted and never answered (until `hang = false` or stop). */
  hang: boolean;
  /** Latency added before each answer, in ms. */
  latencyMs: number;
  /** Scale of a grace-period second in real ms (default 1000), so tests can compress time. */
  msPerGraceSecond: number;
  /** Stop listening: new connections are refused. */
  refuse(): Promise<void>;
  stop(): Promise<void>;
  /** The Authorization header of every request, in order (with `authenticate`). */
  authorizations: (string | undefined)[];
  /** Requests refused with 401 by `authenticate`, with its reason. */
  unauthorized: string[];
}

export interface K8sServerOptions {
  /** Serve https with this key and certificate (PEM), as an EKS endpoint does. */
  tls?: { key: string; cert: string };
  /**
   * Checks each request's Authorization header as the API server's authenticator would: returns why it
   * is refused (answered 401 Unauthorized), or undefined to let it through.
   */
  authenticate?: (authorization: string | undefined) => string | undefined;
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function isReady(pod: FakePod): boolean {
  return (
    !pod.metadata.deletionTimestamp &&
    pod.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

function matches(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** RFC 7386 merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add / replace / remove / test on object paths and array indexes. */
function jsonPatch(target: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const doc = structuredClone(target) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop() as string;
    let parent: Record<string, unknown> | unknown[] = doc;
    for (const p of parts) {
      const next: unknown = (parent as Record<string, unknown>)[p];
      if (next === undefined) (parent as Record<string, unknown>)[p] = {};
      parent = (parent as Record<string, unknown>)[p] as Record<string, unknown>;
    }
    if (op.op === 'test') {
      if (JSON.stringify((parent as Record<string, unknown>)[last]) !== JSON.stringify(op.value))
        throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else if (op.op === 'add') parent.splice(Number(last), 0, op.value);
      else parent[Number(last)] = op.value;
    } else {
      parent[last] = op.value;
    }
  }
  return doc;
}

export interface Loopback {
  port: number;
  url: string;
  /** Stop listening: new connections are refused; open ones (hung requests) are dropped. */
  refuse(): Promise<void>;
  stop(): Promise<void>;
}

/** A plain HTTP server on a free 127.0.0.1 port that can drop every connection (hung requests too). */
export async function listenLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { key: string; cert: string },
): Promise<Loopback> {
  const sockets = new Set<Socket>();
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, refuse: close, stop: close };
}

export async function startK8sServer(options: K8sServerOptions = {}): Promise<K8sServer> {
  const authorizations: (string | undefined)[] = [];
  const unauthorized: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let rv = 1;
  const nextRv = () => String(++rv);

  const state = {
    nodes: new Map<string, FakeNode>(),
    pods: new Map<string, FakePod>(),
    pdbs: [] as FakePdb[],
    events: [] as Record<string, unknown>[],
    evictions: [] as EvictionRecord[],
    deletions: [] as { namespace: string; name: string; at: number }[],
    calls: {} as Record<string, number>,
    patchTypes: [] as string[],
    hang: false,
    latencyMs: 0,
    msPerGraceSecond: 1000,
  };

  const count = (key: string) => {
    state.calls[key] = (state.calls[key] ?? 0) + 1;
  };

  const disruptionsAllowed = (pdb: FakePdb): number => {
    const healthy = [...state.pods.values()].filter(
      (p) =>
        p.metadata.namespace === pdb.namespace && matches(p.metadata.labels, pdb.matchLabels) && isReady(p),
    ).length;
    return healthy - pdb.minAvailable;
  };

  const scheduleDeletion = (pod: FakePod, graceSeconds: number) => {
    const key = podKey(pod.metadata.namespace, pod.metadata.name);
    const uid = pod.metadata.uid;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (state.pods.get(key)?.metadata.uid !== uid) return;
      state.pods.delete(key);
      state.deletions.push({ namespace: pod.metadata.namespace, name: pod.metadata.name, at: Date.now() });
    }, Math.max(0, graceSeconds) * state.msPerGraceSecond);
    timers.add(timer);
  };

  const evict = (namespace: string, name: string, body: string): [number, unknown] => {
    const pod = state.pods.get(podKey(namespace, name));
    const parsed = JSON.parse(body || '{}') as { deleteOptions?: { gracePeriodSeconds?: number } };
    const grace = parsed.deleteOptions?.gracePeriodSeconds;
    const record = (code: number) =>
      state.evictions.push({ namespace, name, gracePeriodSeconds: grace, status: code, at: Date.now() });
    if (!pod) {
      record(404);
      return [404, status(404, 'NotFound', `pods "${name}" not found`)];
    }
    if (pod.metadata.deletionTimestamp) {
      record(201);
      return [201, { kind: 'Eviction', apiVersion: 'policy/v1', metadata: { name, namespace } }];
    }
    if (isReady(pod)) {
      for (const pdb of state.pdbs) {
        if (pdb.namespace !== namespace || !matches(pod.metadata.labels, pdb.matchLabels)) continue;
        if (disruptionsAllowed(pdb) <= 0) {
          record(429);
          return [
            429,
            status(
              429,
              'TooManyRequests',
              `Cannot evict pod as it would violate the pod's disruption budget "${pdb.name}".`,
            ),
          ];
        }
      }
    }
    pod.metadata.deletionTimestamp = new Date().toISOString();
    scheduleDeletion(pod, grace ?? pod.spec.terminationGracePeriodSeconds ?? 30);
    record(201);
    return [201, { kind: 'Eviction', apiVersion: 'policy/v1', metadata: { name, namespace } }];
  };

  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (method === 'GET' && path === '/api/v1/nodes') {
      count('GET nodes');
      return [
        200,
        {
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(rv) },
          items: [...state.nodes.values()],
        },
      ];
    }
    const nodeMatch = path.match(/^\/api\/v1\/nodes\/([^/]+)$/);
    if (nodeMatch) {
      const node = state.nodes.get(decodeURIComponent(nodeMatch[1] as string));
      if (method === 'GET') {
        count('GET node');
        return node
          ? [200, { kind: 'Node', apiVersion: 'v1', ...node }]
          : [404, status(404, 'NotFound', 'node not found')];
      }
      if (method === 'PATCH') {
        count('PATCH node');
        const type = (req.headers['content-type'] ?? '').split(';')[0] as string;
        state.patchTypes.push(type);
        const body = JSON.parse(await readBody(req)) as unknown;
        if (!node) return [404, status(404, 'NotFound', 'node not found')];
        let patched: FakeNode;
        try {
          if (type === 'application/json-patch+json') {
            patched = jsonPatch(node, body as { op: string; path: string }[]) as FakeNode;
          } else if (
            type === 'application/merge-patch+json' ||
            type === 'application/strategic-merge-patch+json'
          ) {
            const wantRv = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
            if (wantRv && wantRv !== node.metadata.resourceVersion) {
              return [
                409,
                status(
                  409,
                  'Conflict',
                  'the object has been modified; please apply your changes to the latest version',
                ),
              ];
            }
            patched = mergePatch(node, body) as FakeNode;
          } else {
            return [415, status(415, 'UnsupportedMediaType', `unsupported patch type ${type}`)];
          }
        } catch (err) {
          return [422, status(422, 'Invalid', (err as Error).message)];
        }
        patched.metadata.resourceVersion = nextRv();
        state.nodes.set(node.metadata.name, patched);
        return [200, { kind: 'Node', apiVersion: 'v1', ...patched }];
      }
    }
    const nsPods = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/);
    if (method === 'GET' && (path === '/api/v1/pods' || nsPods)) {
      count('GET pods');
      const ns = nsPods?.[1];
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const nodeName = selector.match(/spec\.nodeName=([^,]+)/)?.[1];
      const items = [...state.pods.values()].filter(
        (p) =>
          (!ns || p.metadata.namespace === ns) && (nodeName === undefined || p.spec.nodeName === nodeName),
      );
      return [200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items }];
    }
    const eviction = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/);
    if (method === 'POST' && eviction) {
      count('POST eviction');
      return evict(
        decodeURIComponent(eviction[1] as string),
        decodeURIComponent(eviction[2] as string),
        await readBody(req),
      );
    }
    const events = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/events$/);
    if (method === 'POST' && events) {
      count('POST event');
      const event = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const meta = (event.metadata ?? {}) as Record<string, unknown>;
      const created = {
        ...event,
        metadata: {
          ...meta,
          namespace: events[1],
          name: meta.name ?? `${meta.generateName ?? 'event.'}${state.events.length}`,
        },
      };
      state.events.push(created);
      return [201, created];
    }
    count(`${method} other`);
    return [404, status(404, 'NotFound', `${method} ${path} is not served by the test server`)];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (state.hang) {
      count('hung');
      return; // never answered; the socket is destroyed at stop()
    }
    if (options.authenticate) {
      authorizations.push(req.headers.authorization);
      const refused = options.authenticate(req.headers.authorization);
      if (refused) {
        unauthorized.push(refused);
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status(401, 'Unauthorized', 'Unauthorized')));
        return;
      }
    }
    try {
      const [code, body] = await route(req);
      if (state.latencyMs > 0) await new Promise((r) => setTimeout(r, state.latencyMs));
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status(500, 'InternalError', (err as Error).message)));
    }
  };

  const loop = await listenLoopback((req, res) => void handle(req, res), options.tls);
  const port = loop.port;

  const api: K8sServer = {
    url: loop.url,
    port,
    authorizations,
    unauthorized,
    ...state,
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(v: number) {
      state.latencyMs = v;
    },
    get msPerGraceSecond() {
      return state.msPerGraceSecond;
    },
    set msPerGraceSecond(v: number) {
      state.msPerGraceSecond = v;
    },
    totalCalls: () => Object.values(state.calls).reduce((a, b) => a + b, 0),
    addNode(name, opts = {}) {
      const az = opts.az ?? 'us-east-1a';
      const node: FakeNode = {
        metadata: {
          name,
          uid: randomUUID(),
          resourceVersion: nextRv(),
          labels: { 'kubernetes.io/hostname': opts.hostnameLabel ?? name, 'topology.kubernetes.io/zone': az },
        },
        spec: {},
        status: { addresses: [] },
      };
      if (opts.providerId !== null && (opts.providerId || opts.instanceId)) {
        node.spec.providerID = opts.providerId ?? `aws:///${az}/${opts.instanceId}`;
      }
      if (opts.dnsName) {
        node.status.addresses.push(
          { type: 'InternalDNS', address: opts.dnsName },
          { type: 'Hostname', address: opts.dnsName },
        );
      }
      state.nodes.set(name, node);
      return node;
    },
    addPod(nodeName, name, opts = {}) {
      const namespace = opts.namespace ?? 'default';
      const owner = opts.owner ?? 'ReplicaSet';
      const pod: FakePod = {
        metadata: {
          name,
          namespace,
          uid: randomUUID(),
          labels: opts.labels ?? {},
          annotations: opts.mirror ? { 'kubernetes.io/config.mirror': 'abc123' } : {},
        },
        spec: {
          nodeName,
          containers: [{ name: 'main', image: 'busybox' }],
        },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
        },
      };
      if (opts.graceSeconds !== undefined) pod.spec.terminationGracePeriodSeconds = opts.graceSeconds;
      if (opts.emptyDir) pod.spec.volumes = [{ name: 'scratch', emptyDir: {} }];
      if (owner !== 'none' && !opts.mirror) {
        pod.metadata.ownerReferences = [
          {
            apiVersion: owner === 'Job' ? 'batch/v1' : 'apps/v1',
            kind: owner,
            name: `${name}-owner`,
            uid: randomUUID(),
            controller: true,
          },
        ];
      }
      state.pods.set(podKey(namespace, name), pod);
      return pod;
    },
    addPdb(pdb) {
      state.pdbs.push({ namespace: 'default', ...pdb });
    },
    setReady(namespace, name, ready) {
      const pod = state.pods.get(podKey(namespace, name));
      if (!pod) throw new Error(`no pod ${namespace}/${name}`);
      pod.status.conditions = [{ type: 'Ready', status: ready ? 'True' : 'False' }];
    },
    refuse: loop.refuse,
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await loop.stop();
    },
  };
  return api;
}

/** Writes a kubeconfig that points the real client at the test server (plain HTTP, token auth). */
export async function writeKubeconfig(
  dir: string,
  serverUrl: string,
  opts: { name?: string; token?: string } = {},
): Promise<string> {
  const path = join(dir, opts.name ?? 'kubeconfig');
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${serverUrl}`,
    // client-node 1.x builds an https agent from the cluster entry; with an http server it needs this.
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: test',
    '  user:',
    `    token: ${opts.token ?? 'test-token'}`,
    'contexts:',
    '- name: test',
    '  context: { cluster: test, user: test }',
    'current-context: test',
    '',
  ].join('\n');
  await writeFile(path, text);
  return path;
}
