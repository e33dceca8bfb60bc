import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { defaultSettings } from '../../src/config/schema.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ReleaseRequest } from '../../src/ports/releaser.js';
import { KubeClients } from '../../src/release/kubernetes/clients.js';
import { KubernetesReleaser } from '../../src/release/kubernetes/releaser.js';
import { type K8sServer, startK8sServer, writeKubeconfig } from '../helpers/k8s-server.js';

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
