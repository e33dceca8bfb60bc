import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultSettings } from '../src/config/schema.js';
import { systemClock } from '../src/ports/clock.js';
import { silentLogger } from '../src/ports/logger.js';
import type { ReleaseRequest } from '../src/ports/releaser.js';
import { KubeClients } from '../src/release/kubernetes/clients.js';
import { KubernetesReleaser } from '../src/release/kubernetes/releaser.js';
import { type K8sServer, startK8sServer, writeKubeconfig } from '../test/helpers/k8s-server.js';

// Drain figures against the test Kubernetes API server on 127.0.0.1, with the real client:
// - a node with 100 pods (no PDB), default tuning (20 evictions in flight, 1 s polls); pods' 30 s
//   grace periods are compressed to 0.3 s by the server, so the time is the client's and API's
//   (at 0 ms and at 20 ms added latency per call, the latter closer to a real API server);
// - 50 interruptions at once in one cluster, cordon mode: time until every node is cordoned.

type Figures = Record<string, number | string>;

function request(instanceId: string, mode: ReleaseRequest['mode']): ReleaseRequest {
  return {
    groupName: 'bench',
    instance: { instanceId, availabilityZone: 'us-east-1a' },
    mode,
    reason: 'spot-interruption',
    deadline: new Date(Date.now() + 110_000),
    signal: new AbortController().signal,
  };
}

async function withServer<T>(
  dir: string,
  name: string,
  fn: (server: K8sServer, releaser: KubernetesReleaser) => Promise<T>,
): Promise<T> {
  const server = await startK8sServer();
  try {
    server.msPerGraceSecond = 10;
    const kubeconfig = await writeKubeconfig(dir, server.url, { name });
    const releaser = new KubernetesReleaser({
      settings: { ...defaultSettings().kubernetes, enabled: true, kubeconfig },
      clients: new KubeClients(systemClock),
      clock: systemClock,
      logger: silentLogger,
    });
    return await fn(server, releaser);
  } finally {
    await server.stop();
  }
}

async function drain100(dir: string, latencyMs: number): Promise<Figures> {
  return withServer(dir, `drain-${latencyMs}`, async (server, releaser) => {
    server.latencyMs = latencyMs;
    server.addNode('node-0', { instanceId: 'i-0b0' });
    for (let i = 0; i < 100; i++) server.addPod('node-0', `web-${i}`, { graceSeconds: 30 });
    for (let i = 0; i < 3; i++) server.addPod('node-0', `ds-${i}`, { owner: 'DaemonSet' });
    const started = performance.now();
    const out = await releaser.release(request('i-0b0', 'drain'));
    const wall = performance.now() - started;
    const evictionsDone =
      Math.max(...server.evictions.map((e) => e.at)) - Math.min(...server.evictions.map((e) => e.at));
    const p = `drain100.latency${latencyMs}ms`;
    return {
      [`${p}.status`]: out.status,
      [`${p}.wallMs`]: Math.round(wall),
      [`${p}.evictionSpreadMs`]: Math.round(evictionsDone),
      [`${p}.podsEvicted`]: out.counts?.podsEvicted ?? 0,
      [`${p}.apiCalls`]: server.totalCalls(),
      [`${p}.apiCallsByKind`]: Object.entries(server.calls)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    };
  });
}

async function storm50(dir: string, latencyMs: number): Promise<Figures> {
  return withServer(dir, `storm-${latencyMs}`, async (server, releaser) => {
    server.latencyMs = latencyMs;
    const ids = Array.from({ length: 50 }, (_, i) => `i-${(0x5000 + i).toString(16)}`);
    for (const [i, id] of ids.entries()) server.addNode(`node-${i}`, { instanceId: id });
    const started = performance.now();
    const outs = await Promise.all(ids.map((id) => releaser.release(request(id, 'cordon'))));
    const wall = performance.now() - started;
    const cordoned = [...server.nodes.values()].filter((n) => n.spec.unschedulable).length;
    const p = `storm50.latency${latencyMs}ms`;
    return {
      [`${p}.allCordonedMs`]: Math.round(wall),
      [`${p}.cordoned`]: `${cordoned}/50 (${outs.filter((o) => o.status === 'done').length} done)`,
      [`${p}.apiCalls`]: server.totalCalls(),
      [`${p}.nodeLists`]: server.calls['GET nodes'] ?? 0,
    };
  });
}

export async function benchDrain(): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-bench-drain-'));
  try {
    await drain100(dir, 0); // warm-up: module loading and JIT, not reported
    return {
      ...(await drain100(dir, 0)),
      ...(await drain100(dir, 20)),
      ...(await storm50(dir, 0)),
      ...(await storm50(dir, 20)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchDrain();
  for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(40)} ${value}`);
}
