import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import test from 'ava';
import { addSpotMembers, createTestQueue, seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import { startSpotmax, until } from '../helpers/service-process.js';

// The composed service, as ECS runs it: `spotmax run --cloud aws` in its own process against moto,
// driven only from outside (HTTP endpoints, the queue, signals). Needs `npm run build` (npm test does it).

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

function env(extra: Record<string, string> = {}) {
  return {
    ...process.env,
    AWS_REGION: TEST_REGION,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    ...extra,
  };
}

test.serial(
  'run: health endpoints, a Spot warning sent with `events send` is handled, SIGTERM exits 0',
  async (t) => {
    await moto.reset();
    const clients = testClients(moto.endpoint, undefined, 4); // polls moto while spotmax writes: see replicas.moto.test.ts
    await seedGroup(clients, {
      name: 'web-asg',
      desired: 0,
      max: 10,
      tags: { 'spotmax:detaching_delay_seconds': '0' },
    });
    const [victim, survivor] = await addSpotMembers(clients.ec2, clients.autoscaling, 'web-asg', 2);
    const queueUrl = await createTestQueue(clients.sqs, 'spotmax-events');
    const policies = await mkdtemp(join(tmpdir(), 'spotmax-run-'));
    await writeFile(join(policies, 'none.yaml'), '# no policies: tags only\n');

    const service = startSpotmax(
      [
        'run',
        '--cloud',
        'aws',
        '--queue-url',
        queueUrl,
        '--port',
        '0',
        '--policies',
        policies,
        '--grace',
        '5',
      ],
      env(),
      t.teardown,
    );
    const { child, logs, exited } = service;
    try {
      const running = await logs.waitFor((l) => l.msg === 'spotmax running');
      const base = `http://127.0.0.1:${running.port}`;

      const health = await fetch(`${base}/healthz`);
      t.is(health.status, 200);
      t.regex(health.headers.get('content-type') ?? '', /application\/json/);
      const ready = await until('readyz ok', async () => {
        const r = await fetch(`${base}/readyz`);
        return r.status === 200 ? r : undefined;
      });
      t.deepEqual(Object.keys(((await ready.json()) as { checks: object }).checks).sort(), [
        'cloud',
        'leader',
        'policies',
        'queue',
      ]);
      const metrics = await fetch(`${base}/metrics`);
      t.regex(metrics.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);

      const sent = await promisify(execFile)(
        'node',
        [
          'bin/spotmax.js',
          'events',
          'send',
          '--type',
          'spot-interruption',
          '--instance',
          victim!,
          '--queue-url',
          queueUrl,
        ],
        { env: env() },
      );
      t.regex(sent.stdout, /sent EC2 Spot Instance Interruption Warning/);

      await until('victim detached', async () => {
        const g = (
          await clients.autoscaling.send(
            new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }),
          )
        ).AutoScalingGroups?.[0];
        return g && !g.Instances?.some((i) => i.InstanceId === victim) ? g : undefined;
      });
      const group = (
        await clients.autoscaling.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }),
        )
      ).AutoScalingGroups![0]!;
      t.is(
        group.DesiredCapacity,
        2,
        'detached without decrement: desired unchanged, so the ASG replaces at once',
      );
      t.true(group.Instances!.some((i) => i.InstanceId === survivor));
      const tags =
        (await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [victim!] }))).Reservations![0]!
          .Instances![0]!.Tags ?? [];
      t.truthy(
        tags.find((tag) => tag.Key === 'spotmax:interrupted-at'),
        'idempotency marker written',
      );

      await until('message deleted', async () => {
        const a = await clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        const n =
          Number(a.Attributes?.ApproximateNumberOfMessages) +
          Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible);
        return n === 0 ? true : undefined;
      });

      // The reconcile loop's first pass tags the members with spotmax:group.
      await until('members tagged by the reconciler', async () => {
        const out = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [survivor!] }));
        const s = out.Reservations?.[0]?.Instances?.[0]?.Tags?.find((tag) => tag.Key === 'spotmax:group');
        return s?.Value === 'web-asg' ? true : undefined;
      });

      child.kill('SIGTERM');
      t.is(await exited, 0, service.stderr());
      t.truthy(logs.lines.find((l) => l.msg === 'stopped'));
    } catch (err) {
      t.log(service.stderr());
      throw err;
    }
  },
);

test.serial('run: a bad flag is a user error (exit 1) before anything starts', async (t) => {
  const r = await promisify(execFile)(
    'node',
    ['bin/spotmax.js', 'run', '--pollers', 'zero', '--region', 'us-east-1'],
    { env: env() },
  ).catch((e) => e);
  t.is(r.code, 1);
  t.regex(r.stderr, /--pollers must be a positive whole number, got "zero"/);
});
