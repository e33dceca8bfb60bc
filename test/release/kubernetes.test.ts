import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { defaultSettings } from '../../src/config/schema.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ReleaseRequest } from '../../src/ports/releaser.js';
import { checkKubeconfig, KubeClients } from '../../src/release/kubernetes/clients.js';
import { KubernetesReleaser } from '../../src/release/kubernetes/releaser.js';
import { runReleasers } from '../../src/release/run.js';
import { startK8sServer, writeKubeconfig } from '../helpers/k8s-server.js';

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spotmax-k8s-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(
  t: { teardown(fn: () => Promise<void>): void },
  name: string,
  k8s: Partial<ReturnType<typeof defaultSettings>['kubernetes']> = {},
) {
  const server = await startK8sServer();
  t.teardown(() => server.stop());
  server.msPerGraceSecond = 20;
  const kubeconfig = await writeKubeconfig(dir, server.url, { name });
  const settings = { ...defaultSettings().kubernetes, enabled: true, kubeconfig, ...k8s };
  const releaser = new KubernetesReleaser({
    settings,
    clients: new KubeClients(systemClock),
    clock: systemClock,
    logger: silentLogger,
    tuning: { pollMs: 50, backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  return { server, releaser };
}

function request(instanceId: string, opts: Partial<ReleaseRequest> & { dns?: string } = {}): ReleaseRequest {
  return {
    groupName: 'k8s-workers',
    instance: {
      instanceId,
      availabilityZone: 'us-east-1a',
      privateIp: '10.0.0.1',
      privateDnsName: opts.dns ?? `ip-10-0-0-1.ec2.internal`,
    },
    mode: opts.mode ?? 'drain',
    reason: opts.reason ?? 'spot-interruption',
    deadline: opts.deadline ?? new Date(Date.now() + 10_000),
    signal: opts.signal ?? new AbortController().signal,
  };
}

test('cordon mode: node found by providerID is cordoned, tainted and gets an event; pods stay', async (t) => {
  const { server, releaser } = await setup(t, 'cordon');
  server.addNode('node-a', { instanceId: 'i-0a1', dnsName: 'ip-10-9-9-9.ec2.internal' });
  server.addNode('node-b', { instanceId: 'i-0b2' });
  server.addPod('node-a', 'web-1');
  const out = await releaser.release(
    request('i-0a1', { mode: 'cordon', reason: 'rebalance', dns: 'ip-10-1-1-1.ec2.internal' }),
  );
  t.is(out.status, 'done', out.detail);
  t.regex(out.detail ?? '', /node-a \(by providerID\)/);
  const node = server.nodes.get('node-a');
  t.true(node?.spec.unschedulable);
  t.deepEqual(
    node?.spec.taints?.map((x) => ({ key: x.key, value: x.value, effect: x.effect })),
    [{ key: 'spotmax.io/interruption', value: 'rebalance', effect: 'NoSchedule' }],
  );
  t.falsy(server.nodes.get('node-b')?.spec.unschedulable);
  t.is(server.events.length, 1);
  const ev = server.events[0] as {
    involvedObject: { kind: string; name: string };
    reason: string;
    message: string;
    type: string;
  };
  t.is(ev.involvedObject.kind, 'Node');
  t.is(ev.involvedObject.name, 'node-a');
  t.is(ev.reason, 'RebalanceRecommendation');
  t.regex(ev.message, /i-0a1/);
  t.is(server.calls['POST eviction'] ?? 0, 0);
  t.true(server.pods.has('default/web-1'));
  t.deepEqual(server.patchTypes, ['application/merge-patch+json']);
});

test('an existing taint from another controller is kept', async (t) => {
  const { server, releaser } = await setup(t, 'keep-taint', { taintKey: 'example.com/spot' });
  const node = server.addNode('node-a', { instanceId: 'i-0a1' });
  node.spec.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
  const out = await releaser.release(request('i-0a1', { mode: 'cordon' }));
  t.is(out.status, 'done', out.detail);
  t.deepEqual(
    server.nodes.get('node-a')?.spec.taints?.map((x) => x.key),
    ['dedicated', 'example.com/spot'],
  );
});

test('drain: node found by DNS name; DaemonSet and mirror pods untouched, others evicted and gone', async (t) => {
  const { server, releaser } = await setup(t, 'drain-dns');
  server.addNode('ip-10-0-0-1.ec2.internal', { providerId: null });
  server.addNode('other', { instanceId: 'i-other' });
  const node = 'ip-10-0-0-1.ec2.internal';
  server.addPod(node, 'web-1', { graceSeconds: 2 });
  server.addPod(node, 'web-2', { namespace: 'shop', graceSeconds: 1 });
  server.addPod(node, 'fluentbit-x', { owner: 'DaemonSet', namespace: 'kube-system' });
  server.addPod(node, 'kube-proxy-node', { mirror: true, namespace: 'kube-system' });
  server.addPod('other', 'web-3');
  const out = await releaser.release(request('i-0dead', { dns: 'ip-10-0-0-1.ec2.internal' }));
  t.is(out.status, 'done', out.detail);
  t.regex(out.detail ?? '', /by dnsName/);
  t.is(out.counts?.podsEvicted, 2);
  t.is(out.counts?.podsSkipped, 2);
  t.deepEqual(server.evictions.map((e) => e.name).sort(), ['web-1', 'web-2']);
  t.false(server.pods.has('default/web-1'));
  t.false(server.pods.has('shop/web-2'));
  t.true(server.pods.has('kube-system/fluentbit-x'));
  t.true(server.pods.has('kube-system/kube-proxy-node'));
  t.true(server.pods.has('default/web-3'));
  t.is(server.evictions.find((e) => e.name === 'web-1')?.gracePeriodSeconds, 2);
});

test('a PDB-blocked pod is evicted once another replica is ready elsewhere', async (t) => {
  const { server, releaser } = await setup(t, 'pdb');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.addNode('node-b', { instanceId: 'i-0b2' });
  server.addPod('node-a', 'web-1', { labels: { app: 'web' }, graceSeconds: 1 });
  server.addPod('node-b', 'web-2', { labels: { app: 'web' } });
  server.addPdb({ name: 'web-pdb', matchLabels: { app: 'web' }, minAvailable: 2 });
  // The replica appears only once the budget has refused the eviction at least once.
  const releasing = releaser.release(request('i-0a1', { deadline: new Date(Date.now() + 20_000) }));
  const waitStart = Date.now();
  while (!server.evictions.some((e) => e.status === 429) && Date.now() - waitStart < 10_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
  const replicaAt = Date.now();
  server.addPod('node-b', 'web-3', { labels: { app: 'web' } });
  const out = await releasing;
  t.is(out.status, 'done', out.detail);
  t.is(out.counts?.podsEvicted, 1);
  t.true((out.counts?.evictionRetries ?? 0) >= 1);
  const tries = server.evictions.filter((e) => e.name === 'web-1');
  t.is(tries[0]?.status, 429);
  const accepted = tries.find((e) => e.status === 201);
  t.truthy(accepted);
  t.true((accepted?.at ?? 0) >= replicaAt);
  t.true(tries.slice(0, -1).every((e) => e.status === 429));
  t.false(server.pods.has('default/web-1'));
});

test('a pod whose budget never frees is left at the time limit: partial, listed, within the deadline', async (t) => {
  const { server, releaser } = await setup(t, 'pdb-stuck');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.addPod('node-a', 'db-0', { labels: { app: 'db' }, owner: 'StatefulSet' });
  server.addPod('node-a', 'web-1', { graceSeconds: 1 });
  server.addPdb({ name: 'db-pdb', matchLabels: { app: 'db' }, minAvailable: 1 });
  const started = Date.now();
  const out = await releaser.release(request('i-0a1', { deadline: new Date(started + 4000) }));
  const took = Date.now() - started;
  t.is(out.status, 'partial', out.detail);
  t.regex(out.detail ?? '', /1 left at the time limit: default\/db-0/);
  t.regex(out.detail ?? '', /PodDisruptionBudget/);
  t.is(out.counts?.podsEvicted, 1);
  t.is(out.counts?.podsLeft, 1);
  t.true(took < 4000, `took ${took} ms`);
  t.true(server.evictions.filter((e) => e.name === 'db-0').length >= 2, 'retried with backoff');
});

test('an eviction retry cut off by the time limit leaves the budget named as the reason, not the cut-off', async (t) => {
  const { server, releaser } = await setup(t, 'pdb-cut');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.addPod('node-a', 'db-0', { labels: { app: 'db' }, owner: 'StatefulSet' });
  server.addPdb({ name: 'db-pdb', matchLabels: { app: 'db' }, minAvailable: 1 });
  const started = Date.now();
  const releasing = releaser.release(request('i-0a1', { deadline: new Date(started + 2500) }));
  // Once the budget has refused, the API server stops answering: the retry in flight at the time limit
  // is abandoned, as on a loaded machine where the last attempt has no answer before the deadline.
  while (!server.evictions.some((e) => e.status === 429)) await new Promise((r) => setTimeout(r, 10));
  server.hang = true;
  const out = await releasing;
  server.hang = false;
  t.is(out.status, 'partial', out.detail);
  t.regex(
    out.detail ?? '',
    /1 left at the time limit: default\/db-0; last errors: default\/db-0: blocked by a PodDisruptionBudget/,
  );
  t.notRegex(out.detail ?? '', /no answer within/);
  t.true(Date.now() - started < 2500 + 1000, 'ends at its time limit');
});

test('a long grace period is capped by the time left before the deadline', async (t) => {
  const { server, releaser } = await setup(t, 'grace');
  server.msPerGraceSecond = 1000; // real seconds: the pod goes exactly when its grace period ends
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.addPod('node-a', 'slow', { graceSeconds: 600 });
  const started = Date.now();
  const out = await releaser.release(request('i-0a1', { deadline: new Date(started + 4000) }));
  const took = Date.now() - started;
  const grace = server.evictions.find((e) => e.name === 'slow')?.gracePeriodSeconds ?? 999;
  t.true(grace >= 1 && grace <= 3, `grace ${grace}`);
  t.is(out.status, 'done', out.detail);
  t.true(took < 4000, `took ${took} ms`);
});

test('--grace-period and --timeout from the seed drain option are honoured; unmanaged pods need --force', async (t) => {
  const { server, releaser } = await setup(t, 'flags', {
    drainOption: '--ignore-daemonsets --grace-period=1 --timeout=3s',
  });
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.addPod('node-a', 'web-1', { graceSeconds: 50 });
  server.addPod('node-a', 'bare', { owner: 'none' });
  server.addPod('node-a', 'cache', { emptyDir: true });
  server.addPod('node-a', 'held', { labels: { app: 'held' } });
  server.addPdb({ name: 'held', matchLabels: { app: 'held' }, minAvailable: 1 });
  const started = Date.now();
  const out = await releaser.release(request('i-0a1', { deadline: new Date(started + 60_000) }));
  const took = Date.now() - started;
  t.true(took >= 2500 && took < 4000, `--timeout=3s bounds the drain (took ${took} ms)`);
  t.is(out.status, 'partial', out.detail);
  t.is(server.evictions.find((e) => e.name === 'web-1')?.gracePeriodSeconds, 1);
  t.regex(out.detail ?? '', /default\/bare \(no controller; --force evicts it\)/);
  t.regex(out.detail ?? '', /default\/cache \(emptyDir data/);
  t.true(server.pods.has('default/bare'));
  t.false(server.evictions.some((e) => e.name === 'bare' || e.name === 'cache'));

  const forced = await setup(t, 'flags-force', { drainOption: '--force --delete-local-data' });
  forced.server.addNode('node-a', { instanceId: 'i-0a1' });
  forced.server.addPod('node-a', 'bare', { owner: 'none', graceSeconds: 1 });
  forced.server.addPod('node-a', 'cache', { emptyDir: true, graceSeconds: 1 });
  const out2 = await forced.releaser.release(request('i-0a1'));
  t.is(out2.status, 'done', out2.detail);
  t.is(out2.counts?.podsEvicted, 2);
});

test('an instance without a node is skipped and counted, not failed', async (t) => {
  const { server, releaser } = await setup(t, 'not-found');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  const out = await releaser.release(request('i-0ff', { dns: 'ip-10-7-7-7.ec2.internal' }));
  t.is(out.status, 'skipped');
  t.is(out.counts?.nodeNotFound, 1);
  t.regex(
    out.detail ?? '',
    /no Kubernetes node for i-0ff .*aws:\/\/\/us-east-1a\/i-0ff or ip-10-7-7-7\.ec2\.internal/,
  );
  t.falsy(server.nodes.get('node-a')?.spec.unschedulable);
});

test('an API server that hangs does not hold the release past the deadline', async (t) => {
  const { server, releaser } = await setup(t, 'hang');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  server.hang = true;
  const started = Date.now();
  const [out] = await runReleasers(
    [releaser],
    { ...request('i-0a1'), deadline: new Date(started + 2000) },
    { clock: systemClock },
  );
  const took = Date.now() - started;
  // Bounded by the deadline (plus event-loop lag on a busy machine), whichever side stops it first.
  t.true(took < 2300, `took ${took} ms`);
  t.true(out?.status === 'failed' || out?.status === 'partial', out?.detail);
  t.regex(out?.detail ?? '', /time limit/);
  t.true((server.calls.hung ?? 0) >= 1);
});

test('an API server that refuses connections fails the step at once', async (t) => {
  const { server, releaser } = await setup(t, 'refuse');
  await server.refuse();
  const started = Date.now();
  const [out] = await runReleasers([releaser], request('i-0a1'), { clock: systemClock });
  t.true(Date.now() - started < 1000);
  t.is(out?.status, 'failed');
  t.regex(out?.detail ?? '', /ECONNREFUSED/);
});

test('a missing or broken kubeconfig is a failed outcome with a clear text, also from checkKubeconfig', async (t) => {
  const missing = join(dir, 'nope', 'kubeconfig');
  const releaser = new KubernetesReleaser({
    settings: { ...defaultSettings().kubernetes, enabled: true, kubeconfig: missing },
    clients: new KubeClients(systemClock),
    clock: systemClock,
    logger: silentLogger,
  });
  const out = await releaser.release(request('i-0a1'));
  t.is(out.status, 'failed');
  t.is(out.detail, `kubeconfig ${missing} does not exist`);
  t.is(checkKubeconfig(missing), `kubeconfig ${missing} does not exist`);
  t.regex(checkKubeconfig(undefined) ?? '', /no kubeconfig is set/);
  const broken = join(dir, 'broken');
  await writeFile(broken, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n');
  t.regex(checkKubeconfig(broken) ?? '', /kubeconfig .*broken has no cluster/);
  const server = await startK8sServer();
  t.teardown(() => server.stop());
  t.is(checkKubeconfig(await writeKubeconfig(dir, server.url, { name: 'good' })), undefined);
});

test('one client per kubeconfig path, rebuilt when the file changes', async (t) => {
  const a = await startK8sServer();
  const b = await startK8sServer();
  t.teardown(() => Promise.all([a.stop(), b.stop()]).then(() => {}));
  a.addNode('node-a', { instanceId: 'i-0a1' });
  b.addNode('node-b', { instanceId: 'i-0a1' });
  const path = await writeKubeconfig(dir, a.url, { name: 'rotating' });
  const clients = new KubeClients(systemClock);
  const first = await clients.get(path);
  t.is(await clients.get(path), first);
  await writeKubeconfig(dir, b.url, { name: 'rotating' });
  await utimes(path, new Date(), new Date(Date.now() + 5000));
  const second = await clients.get(path);
  t.not(second, first);
  t.is(second.server, b.url);
  const releaser = new KubernetesReleaser({
    settings: { ...defaultSettings().kubernetes, enabled: true, kubeconfig: path },
    clients,
    clock: systemClock,
    logger: silentLogger,
  });
  const out = await releaser.release(request('i-0a1', { mode: 'cordon' }));
  t.is(out.status, 'done', out.detail);
  t.true(b.nodes.get('node-b')?.spec.unschedulable);
  t.is(a.calls['PATCH node'] ?? 0, 0);
});

test('a storm: 50 simultaneous interruptions in one cluster are all cordoned within 10 s, with one node list', async (t) => {
  const { server, releaser } = await setup(t, 'storm');
  server.latencyMs = 20;
  for (let i = 0; i < 50; i++) server.addNode(`node-${i}`, { instanceId: `i-${(1000 + i).toString(16)}` });
  const started = Date.now();
  const outs = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      releaser.release(request(`i-${(1000 + i).toString(16)}`, { mode: 'cordon' })),
    ),
  );
  const took = Date.now() - started;
  t.true(took < 10_000, `took ${took} ms`);
  t.true(outs.every((o) => o.status === 'done'));
  t.true([...server.nodes.values()].every((n) => n.spec.unschedulable === true));
  t.is(server.calls['GET nodes'], 1);
});

test('a second release of the same node from the cached list resolves the resourceVersion conflict', async (t) => {
  const { server, releaser } = await setup(t, 'conflict');
  server.addNode('node-a', { instanceId: 'i-0a1' });
  const first = await releaser.release(request('i-0a1', { mode: 'cordon', reason: 'rebalance' }));
  t.is(first.status, 'done', first.detail);
  const second = await releaser.release(request('i-0a1', { mode: 'cordon', reason: 'spot-interruption' }));
  t.is(second.status, 'done', second.detail);
  t.is(server.calls['GET nodes'], 1, 'the cached list served both');
  t.is(server.calls['GET node'], 1, 'the conflict re-read the node once');
  t.is(server.calls['PATCH node'], 3, 'first patch, a conflicting one, the retry');
  t.deepEqual(
    server.nodes.get('node-a')?.spec.taints?.map((x) => `${x.key}=${x.value}:${x.effect}`),
    ['spotmax.io/interruption=spot-interruption:NoSchedule'],
  );
});

test('out-of-service taint after termination, only when enabled', async (t) => {
  const on = await setup(t, 'oos-on', { outOfServiceTaint: true });
  on.server.addNode('node-a', { instanceId: 'i-0a1' });
  const out = await on.releaser.markOutOfService(request('i-0a1').instance, new AbortController().signal);
  t.is(out.status, 'done', out.detail);
  const node = on.server.nodes.get('node-a');
  t.true(
    node?.spec.taints?.some(
      (x) =>
        x.key === 'node.kubernetes.io/out-of-service' &&
        x.value === 'nodeshutdown' &&
        x.effect === 'NoExecute',
    ),
  );
  const off = await setup(t, 'oos-off');
  off.server.addNode('node-a', { instanceId: 'i-0a1' });
  const skipped = await off.releaser.markOutOfService(
    request('i-0a1').instance,
    new AbortController().signal,
  );
  t.is(skipped.status, 'skipped');
  t.is(off.server.calls['PATCH node'] ?? 0, 0);
});
