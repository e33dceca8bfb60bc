import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { defaultSettings, type GroupSettings } from '../../src/config/schema.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { MetricDatum } from '../../src/ports/metrics.js';
import type { ReleaseOutcome } from '../../src/ports/releaser.js';
import { ConsulReleaser } from '../../src/release/consul/releaser.js';
import {
  createReleaserFactory,
  recordReleaseMetrics,
  releaseProblems,
  summarizeOutcomes,
} from '../../src/release/factory.js';
import { KubernetesReleaser } from '../../src/release/kubernetes/releaser.js';
import { NoopReleaser } from '../../src/release/noop.js';
import { runReleasers } from '../../src/release/run.js';
import { startConsulServer } from '../helpers/consul-server.js';
import { startK8sServer, writeKubeconfig } from '../helpers/k8s-server.js';

function settingsWith(patch: {
  kubernetes?: Partial<GroupSettings['kubernetes']>;
  consul?: Partial<GroupSettings['consul']>;
}): GroupSettings {
  const base = defaultSettings();
  return {
    ...base,
    kubernetes: { ...base.kubernetes, ...patch.kubernetes },
    consul: { ...base.consul, ...patch.consul },
  };
}

function recorder() {
  const data: MetricDatum[] = [];
  return { data, metrics: { record: (d: MetricDatum) => void data.push(d), flush: async () => {} } };
}

test('the factory builds the steps a group enables, a noop otherwise, and reuses them while settings hold', (t) => {
  const { metrics } = recorder();
  const factory = createReleaserFactory({ clock: systemClock, logger: silentLogger, metrics, env: {} });
  const none = factory('plain', settingsWith({}));
  t.is(none.length, 1);
  t.true(none[0] instanceof NoopReleaser);
  const both = settingsWith({ kubernetes: { enabled: true, kubeconfig: '/x' }, consul: { enabled: true } });
  const steps = factory('k8s', both);
  t.deepEqual(
    steps.map((r) => r.name),
    ['kubernetes', 'consul'],
  );
  t.true(steps[0] instanceof KubernetesReleaser);
  t.true(steps[1] instanceof ConsulReleaser);
  t.is(
    factory(
      'k8s',
      settingsWith({ kubernetes: { enabled: true, kubeconfig: '/x' }, consul: { enabled: true } }),
    ),
    steps,
  );
  t.not(factory('k8s', settingsWith({ kubernetes: { enabled: true, kubeconfig: '/y' } })), steps);
});

test('releaseProblems names a missing kubeconfig and an unset token variable', (t) => {
  const problems = releaseProblems(
    settingsWith({
      kubernetes: { enabled: true, kubeconfig: '/no/such/kubeconfig' },
      consul: { enabled: true, tokenEnv: 'CONSUL_TOKEN' },
    }),
    {},
  );
  t.deepEqual(problems, [
    'kubeconfig /no/such/kubeconfig does not exist',
    'environment variable CONSUL_TOKEN (consul.tokenEnv) is not set',
  ]);
  t.deepEqual(
    releaseProblems(settingsWith({ consul: { enabled: true, tokenEnv: 'CONSUL_TOKEN' } }), {
      CONSUL_TOKEN: 'x',
    }),
    [],
  );
});

test('both steps run in parallel for one instance; outcomes summarised and recorded as metrics', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-factory-'));
  const k8s = await startK8sServer();
  const consul = await startConsulServer();
  t.teardown(async () => {
    await Promise.all([k8s.stop(), consul.stop()]);
    await rm(dir, { recursive: true, force: true });
  });
  k8s.msPerGraceSecond = 10;
  k8s.addNode('node-a', { instanceId: 'i-0a1' });
  k8s.addPod('node-a', 'web-1', { graceSeconds: 5 });
  k8s.addPod('node-a', 'web-2', { graceSeconds: 5 });
  k8s.addPod('node-a', 'bare', { owner: 'none' });
  consul.addService('web');
  const kubeconfig = await writeKubeconfig(dir, k8s.url);
  const { data, metrics } = recorder();
  const factory = createReleaserFactory({ clock: systemClock, logger: silentLogger, metrics, env: {} });
  const settings = settingsWith({
    kubernetes: { enabled: true, kubeconfig },
    consul: { enabled: true, address: '127.0.0.1:{port}', port: consul.port },
  });
  const outcomes = await runReleasers(
    factory('k8s-workers', settings),
    {
      groupName: 'k8s-workers',
      instance: {
        instanceId: 'i-0a1',
        availabilityZone: 'us-east-1a',
        privateIp: '10.1.2.3',
        privateDnsName: 'ip-10-1-2-3.ec2.internal',
      },
      mode: 'drain',
      reason: 'spot-interruption',
      deadline: new Date(Date.now() + 5000),
    },
    { clock: systemClock },
  );
  t.deepEqual(
    outcomes.map((o) => [o.step, o.status]),
    [
      ['kubernetes', 'partial'],
      ['consul', 'done'],
    ],
  );
  const line = summarizeOutcomes(outcomes);
  t.regex(
    line,
    /^kubernetes=partial \d+\.\ds cordoned=1 podsEvicted=2 podsKept=1 .*\(.*default\/bare \(no controller.*\); consul=done \d+\.\ds servicesDeregistered=1 agentLeft=1$/,
  );
  recordReleaseMetrics(metrics, 'k8s-workers', outcomes);
  const byName = Object.fromEntries(data.map((d) => [d.name, d]));
  t.is(byName.PodsEvicted?.value, 2);
  t.is(byName.DrainIncomplete?.value, 1);
  t.is(byName.DrainSeconds?.unit, 'Seconds');
  t.true((byName.DrainSeconds?.value ?? -1) >= 0);
  t.is(byName.ConsulDeregistered?.value, 1);
  t.is(byName.ConsulFailures?.value, 0);
  t.true(data.every((d) => d.dimensions?.AutoScalingGroupName === 'k8s-workers'));
});

test('metrics for a node not found and a Consul failure', (t) => {
  const { data, metrics } = recorder();
  const outcomes: ReleaseOutcome[] = [
    { step: 'kubernetes', status: 'skipped', durationMs: 12, detail: 'no node', counts: { nodeNotFound: 1 } },
    {
      step: 'consul',
      status: 'failed',
      durationMs: 2000,
      detail: 'agent unreachable',
      counts: { consulFailures: 1 },
    },
  ];
  recordReleaseMetrics(metrics, 'g', outcomes);
  t.deepEqual(
    data.map((d) => [d.name, d.value]),
    [
      ['NodeNotFound', 1],
      ['ConsulDeregistered', 0],
      ['ConsulFailures', 1],
    ],
  );
  t.is(
    summarizeOutcomes(outcomes),
    'kubernetes=skipped 0.0s nodeNotFound=1 (no node); consul=failed 2.0s consulFailures=1 (agent unreachable)',
  );
  t.is(summarizeOutcomes([]), 'no release steps');
});
