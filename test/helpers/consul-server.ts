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
  hang: boolean;
  /** Deregistration of these service ids answers 500. */
  failDeregister: Set<string>;
  addService(id: string, name?: string): void;
  refuse(): Promise<void>;
  stop(): Promise<void>;
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
    hang: false,
    failDeregister: new Set<string>(),
  };

  const route = (method: string, path: string, body: string): [number, unknown] => {
    const key = `${method} ${path.replace(/\/deregister\/.+$/, '/deregister/:id')}`;
    state.calls[key] = (state.calls[key] ?? 0) + 1;
    if (method === 'GET' && path === '/v1/agent/services') return [200, Object.fromEntries(state.services)];
    const dereg = path.match(/^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (method === 'PUT' && dereg) {
      const id = decodeURIComponent(dereg[1] as string);
      if (state.failDeregister.has(id)) return [500, `failed to deregister ${id}`];
      if (!state.services.delete(id)) return [404, `Unknown service ID "${id}"`];
      return [200, ''];
    }
    if (method === 'PUT' && path === '/v1/agent/leave') {
      state.left = true;
      return [200, ''];
    }
    if (method === 'GET' && path === '/v1/catalog/nodes') return [200, state.catalogNodes];
    if (method === 'PUT' && path === '/v1/catalog/deregister') {
      const parsed = JSON.parse(body || '{}') as { Node?: string };
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
