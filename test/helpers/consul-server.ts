import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLoopback } from './k8s-server.js';

// A small Consul HTTP API on 127.0.0.1: the agent endpoints the releaser uses (services list, service
// deregister, leave) and the catalog ones (nodes list, node deregister). One server can play the
// instance's agent or the central Consul. It records every request's headers, enforces an ACL token
// when `requiredToken` is set, and can hang or refuse like a dying instance.

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ConsulServer {
  url: string;
  port: number;
  /** host:port, for settings.consul.address / centralAddress. */
  hostPort: string;
  services: Map<string, { ID: string; Service: string; Port: number }>;
  catalogNodes: { Node: string; Address: string }[];
  catalogDeregistered: unknown[];
  left: boolean;
  requests: RecordedRequest[];
  calls: Record<string, number>;
  /** When set, requests without this X-Consul-Token get 403. */
  requiredToken?: string;
  /**
   * ACL rules bound to `requiredToken` (parseAclRules), enforced per endpoint as Consul does: listings
   * filtered by read, changes refused with 403 without write. Unset: the token may do anything.
   */
  aclRules?: AclRule[];
  /** This agent's node name (agent:write is checked on it). */
  nodeName: string;
  hang: boolean;
  /** Deregistration of these service ids answers 500. */
  failDeregister: Set<string>;
  addService(id: string, name?: string): void;
  refuse(): Promise<void>;
  stop(): Promise<void>;
}

export interface AclRule {
  resource: 'service' | 'agent' | 'node';
  prefix: boolean;
  name: string;
  policy: 'read' | 'write' | 'deny';
}

/** The rule blocks of a Consul ACL policy in HCL: `service_prefix "" { policy = "write" }` and the like. */
export function parseAclRules(hcl: string): AclRule[] {
  const rules: AclRule[] = [];
  const text = hcl.replace(/#.*$/gm, '');
  for (const m of text.matchAll(
    /\b(service|agent|node)(_prefix)?\s+"([^"]*)"\s*\{\s*policy\s*=\s*"(read|write|deny)"\s*\}/g,
  )) {
    rules.push({
      resource: m[1] as AclRule['resource'],
      prefix: Boolean(m[2]),
      name: m[3] as string,
      policy: m[4] as AclRule['policy'],
    });
  }
  return rules;
}

/** Consul's rule choice: an exact rule wins, else the longest matching prefix; write implies read. */
export function aclAllows(
  rules: AclRule[],
  resource: AclRule['resource'],
  name: string,
  access: 'read' | 'write',
): boolean {
  const exact = rules.find((r) => r.resource === resource && !r.prefix && r.name === name);
  const rule =
    exact ??
    rules
      .filter((r) => r.resource === resource && r.prefix && name.startsWith(r.name))
      .sort((a, b) => b.name.length - a.name.length)[0];
  if (!rule || rule.policy === 'deny') return false;
  return access === 'read' || rule.policy === 'write';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startConsulServer(): Promise<ConsulServer> {
  const state = {
    services: new Map<string, { ID: string; Service: string; Port: number }>(),
    catalogNodes: [] as { Node: string; Address: string }[],
    catalogDeregistered: [] as unknown[],
    left: false,
    requests: [] as RecordedRequest[],
    calls: {} as Record<string, number>,
    requiredToken: undefined as string | undefined,
    aclRules: undefined as AclRule[] | undefined,
    nodeName: 'node-1',
    hang: false,
    failDeregister: new Set<string>(),
  };

  const route = (method: string, path: string, body: string): [number, unknown] => {
    const key = `${method} ${path.replace(/\/deregister\/.+$/, '/deregister/:id')}`;
    state.calls[key] = (state.calls[key] ?? 0) + 1;
    const allowed = (resource: AclRule['resource'], name: string, access: 'read' | 'write') =>
      !state.aclRules || aclAllows(state.aclRules, resource, name, access);
    const denied: [number, unknown] = [403, 'Permission denied'];
    if (method === 'GET' && path === '/v1/agent/services')
      return [
        200,
        Object.fromEntries([...state.services].filter(([, s]) => allowed('service', s.Service, 'read'))),
      ];
    const dereg = path.match(/^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (method === 'PUT' && dereg) {
      const id = decodeURIComponent(dereg[1] as string);
      const svc = state.services.get(id);
      if (svc && !allowed('service', svc.Service, 'write')) return denied;
      if (state.failDeregister.has(id)) return [500, `failed to deregister ${id}`];
      if (!state.services.delete(id)) return [404, `Unknown service ID "${id}"`];
      return [200, ''];
    }
    if (method === 'PUT' && path === '/v1/agent/leave') {
      if (!allowed('agent', state.nodeName, 'write')) return denied;
      state.left = true;
      return [200, ''];
    }
    if (method === 'GET' && path === '/v1/catalog/nodes')
      return [200, state.catalogNodes.filter((n) => allowed('node', n.Node, 'read'))];
    if (method === 'PUT' && path === '/v1/catalog/deregister') {
      const parsed = JSON.parse(body || '{}') as { Node?: string };
      if (!allowed('node', parsed.Node ?? '', 'write')) return denied;
      state.catalogDeregistered.push(parsed);
      state.catalogNodes = state.catalogNodes.filter((n) => n.Node !== parsed.Node);
      return [200, true];
    }
    return [404, `${method} ${path} is not served by the test server`];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: { ...req.headers },
      body,
    });
    if (state.hang) return;
    if (state.requiredToken && req.headers['x-consul-token'] !== state.requiredToken) {
      res.writeHead(403).end('ACL not found');
      return;
    }
    const [code, out] = route(req.method ?? 'GET', url.pathname, body);
    const text = typeof out === 'string' ? out : JSON.stringify(out);
    res
      .writeHead(code, { 'content-type': typeof out === 'string' ? 'text/plain' : 'application/json' })
      .end(text);
  };

  const loop = await listenLoopback((req, res) => void handle(req, res));
  const server: ConsulServer = Object.assign(state, {
    url: loop.url,
    port: loop.port,
    hostPort: `127.0.0.1:${loop.port}`,
    addService(id: string, name?: string) {
      state.services.set(id, { ID: id, Service: name ?? id, Port: 8080 });
    },
    refuse: loop.refuse,
    stop: loop.stop,
  });
  return server;
}
