import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import test from 'ava';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { createReleaserFactory } from '../../src/release/factory.js';
import {
  addSpotMembers,
  createTestQueue,
  seedGroup,
  testClients,
  testCloud,
} from '../helpers/aws-fixtures.js';
import { startK8sServer, writeKubeconfig } from '../helpers/k8s-server.js';
import { type Moto, startMoto, TEST_REGION } from '../helpers/moto.js';
import { captureLogger, makeController } from '../interruption/helpers/setup.js';

// End to end: moto (ASG, EC2, SQS) + the Kubernetes test API server. A Spot warning on the queue for
// a member of a managed Kubernetes group: the node is cordoned and drained, then the instance is
// detached, in that order. Only 127.0.0.1 is contacted (the instances' private addresses are data).

let moto: Moto;
let dir: string;
test.before(async () => {
  moto = await startMoto();
  dir = await mkdtemp(join(tmpdir(), 'spotmax-e2e-drain-'));
});
test.after.always(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a Spot warning for a managed instance leads to the node drained, then the instance detached', async (t) => {
  await moto.reset();
  const clients = testClients(moto.endpoint);
  const base = testCloud(moto.endpoint);
  // spotmax:group as the reconciler leaves it: the IAM policy lets spotmax detach only from such groups.
  await seedGroup(clients, {
    name: 'k8s-workers',
    tags: { 'spotmax:managed': 'true', 'spotmax:group': 'k8s-workers' },
    desired: 0,
  });
  const [victim, other] = await addSpotMembers(clients.ec2, clients.autoscaling, 'k8s-workers', 2);
  if (!victim || !other) throw new Error('moto launched no members');
  const described = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [victim] }));
  const az = described.Reservations?.[0]?.Instances?.[0]?.Placement?.AvailabilityZone ?? 'us-east-1a';

  const k8s = await startK8sServer();
  t.teardown(() => k8s.stop());
  k8s.msPerGraceSecond = 100;
  k8s.addNode('node-victim', { instanceId: victim, az });
  k8s.addNode('node-other', { instanceId: other, az });
  for (let i = 0; i < 3; i++) k8s.addPod('node-victim', `web-${i}`, { graceSeconds: 2 });
  k8s.addPod('node-victim', 'node-exporter', { owner: 'DaemonSet', namespace: 'monitoring' });
  const kubeconfig = await writeKubeconfig(dir, k8s.url);

  // Detaches are timestamped where the adapter is called; the other methods stay as they are.
  const detaches: { ids: string[]; at: number }[] = [];
  const cloud: Cloud = {
    ...base,
    autoscaling: Object.assign(Object.create(base.autoscaling), {
      detachInstances: async (group: string, ids: string[], decrement: boolean) => {
        detaches.push({ ids, at: Date.now() });
        return base.autoscaling.detachInstances(group, ids, decrement);
      },
    }),
  };
  const logger = captureLogger();
  const releasersFor = createReleaserFactory({ clock: systemClock, logger, metrics: cloud.metrics, env: {} });
  const queueUrl = await createTestQueue(clients.sqs, 'e2e-drain');
  const { controller } = makeController({
    cloud,
    clock: systemClock,
    logger,
    overrides: {
      'k8s-workers': (s) => {
        s.kubernetes.enabled = true;
        s.kubernetes.kubeconfig = kubeconfig;
      },
    },
    deps: { queueUrls: [queueUrl], releasersFor, options: { waitSeconds: 1 } },
  });
  await base.queue.send(
    queueUrl,
    JSON.stringify(buildSampleEvent({ type: 'spot-interruption', instanceId: victim, region: TEST_REGION })),
  );
  controller.start();
  const started = Date.now();
  while (detaches.length === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
  await controller.stop(2000);

  // The node: cordoned, tainted, an event; the workload pods evicted and gone; the DaemonSet pod left.
  const node = k8s.nodes.get('node-victim');
  t.true(node?.spec.unschedulable);
  t.true(
    node?.spec.taints?.some((x) => x.key === 'spotmax.io/interruption' && x.value === 'spot-interruption'),
  );
  t.falsy(k8s.nodes.get('node-other')?.spec.unschedulable);
  t.is(k8s.events.length, 1);
  t.deepEqual(k8s.evictions.map((e) => e.name).sort(), ['web-0', 'web-1', 'web-2']);
  t.is(k8s.deletions.length, 3);
  t.true(k8s.pods.has('monitoring/node-exporter'));

  // Then the detach, after the last pod was gone.
  t.is(detaches.length, 1);
  t.deepEqual(detaches[0]?.ids, [victim]);
  const lastGone = Math.max(...k8s.deletions.map((d) => d.at));
  t.true((detaches[0]?.at ?? 0) >= lastGone, 'detached after the drain finished');
  const group = (
    await clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['k8s-workers'] }),
    )
  ).AutoScalingGroups?.[0];
  t.false((group?.Instances ?? []).some((i) => i.InstanceId === victim));
});
