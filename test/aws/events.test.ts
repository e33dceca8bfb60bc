import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import test from 'ava';
import { createAwsNotifications } from '../../src/aws/events.js';
import { main } from '../../src/main.js';
import { actionDetailType, PROBLEM } from '../../src/observability/notices.js';
import { createNotifier } from '../../src/observability/notifier.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { MetricDatum } from '../../src/ports/metrics.js';
import { seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { iamCheckedOnCall } from '../helpers/iam-check.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';

// Notifications through the real SDK against moto's EventBridge: a rule an operator would write (the
// ticket-queue example in deploy/eventbridge/) delivers spotmax's events to an SQS queue.

let moto: Moto;
// `apply` runs in this process: the SDK's default credential chain reads these; moto takes any static pair.
process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

const config = () => ({ region: TEST_REGION, endpoint: moto.endpoint, credentials: TEST_CREDENTIALS });

async function ruleToQueue(bus: string, name: string, pattern: object) {
  const events = new EventBridgeClient(config());
  const sqs = new SQSClient(config());
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await events.send(
    new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern) }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: bus,
      Targets: [{ Id: 'queue', Arn: attrs.Attributes?.QueueArn }],
    }),
  );
  const receive = async (expect: number) => {
    const got: Record<string, unknown>[] = [];
    for (let i = 0; i < 10 && got.length < expect; i++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of r.Messages ?? []) got.push(JSON.parse(m.Body ?? '{}'));
    }
    return got;
  };
  return { receive };
}

function notifierOn(bus: string | undefined) {
  const data: MetricDatum[] = [];
  const batches: number[] = [];
  const port = createAwsNotifications({
    ...config(),
    ...(bus ? { bus } : {}),
    // Every PutEvents is also checked against deploy/iam/spotmax-policy.json (bus ARN, events:source).
    onCall: iamCheckedOnCall(moto.endpoint, TEST_REGION, (_service, command, input) => {
      if (command === 'PutEvents') batches.push((input as { Entries: unknown[] }).Entries.length);
    }),
  });
  const notifier = createNotifier({
    port,
    clock: systemClock,
    logger: silentLogger,
    metrics: { record: (d) => data.push(d), flush: async () => {} },
    region: TEST_REGION,
  });
  const sum = (name: string) => data.filter((d) => d.name === name).reduce((n, d) => n + d.value, 0);
  return { notifier, sum, batches };
}

test('a rule on the default bus delivers a spotmax action event to a queue, shaped as EventBridge events are', async (t) => {
  const q = await ruleToQueue('default', 'spotmax-actions', {
    source: ['spotmax'],
    'detail-type': [actionDetailType('interruption-detach')],
  });
  const { notifier, sum } = notifierOn(undefined);
  notifier.notify({
    detailType: actionDetailType('interruption-detach'),
    detail: {
      kind: 'interruption-detach',
      group: 'web',
      instance: 'i-0123456789abcdef0',
      target: 'i-0123456789abcdef0',
      reason:
        'Spot interruption warning at 2026-12-02T01:00:00.000Z; detached so Auto Scaling launches a replacement now',
      outcome: 'done',
    },
  });
  // Not matched by the rule: it must not reach the queue.
  notifier.notify({ detailType: PROBLEM, detail: { kind: 'problem', group: 'web', reason: 'bad tag' } });
  await notifier.flush();
  t.is(sum('NotificationsPublished'), 2);
  t.is(sum('NotificationsFailed'), 0);
  const got = await q.receive(1);
  t.is(got.length, 1);
  t.like(got[0], {
    source: 'spotmax',
    'detail-type': 'spotmax action: interruption-detach',
    region: TEST_REGION,
    detail: {
      kind: 'interruption-detach',
      group: 'web',
      instance: 'i-0123456789abcdef0',
      outcome: 'done',
      region: TEST_REGION,
    },
  });
});

test('25 events on a named bus go out in PutEvents calls of at most 10 and all arrive', async (t) => {
  const events = new EventBridgeClient(config());
  await events.send(new CreateEventBusCommand({ Name: 'spotmax-ops' }));
  const q = await ruleToQueue('spotmax-ops', 'spotmax-problems', {
    source: ['spotmax'],
    'detail-type': [PROBLEM],
  });
  const { notifier, sum, batches } = notifierOn('spotmax-ops');
  for (let i = 0; i < 25; i++)
    notifier.notify({
      detailType: PROBLEM,
      detail: { kind: 'problem', group: `g${i}`, reason: `problem ${i}` },
    });
  await notifier.flush();
  t.is(sum('NotificationsPublished'), 25);
  t.true(
    batches.every((n) => n >= 1 && n <= 10),
    `batch sizes ${batches}`,
  );
  t.true(batches.length >= 3 && batches.length < 25, `${batches.length} calls for 25 events`);
  const got = await q.receive(25);
  t.deepEqual(
    got.map((e) => (e.detail as { group: string }).group).sort(),
    Array.from({ length: 25 }, (_, i) => `g${i}`).sort(),
  );
});

test('a bus that does not exist: counted and logged, never thrown at the caller', async (t) => {
  const { notifier, sum } = notifierOn('no-such-bus');
  t.notThrows(() => notifier.notify({ detailType: PROBLEM, detail: { kind: 'problem', reason: 'x' } }));
  await notifier.flush();
  t.is(sum('NotificationsPublished'), 0);
  t.is(sum('NotificationsFailed'), 1);
});

test.serial(
  'apply publishes the actions it took on the default bus; --no-events and --dry-run publish nothing',
  async (t) => {
    const q = await ruleToQueue('default', 'spotmax-apply', {
      source: ['spotmax'],
      'detail-type': [actionDetailType('tag-instance')],
    });
    await seedGroup(testClients(moto.endpoint), {
      name: 'web-apply',
      desired: 2,
      tags: { 'spotmax:enabled': 'true' },
    });
    const dir = await mkdtemp(join(tmpdir(), 'spotmax-events-'));
    await writeFile(
      join(dir, 'web.yaml'),
      'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: web }\nspec:\n  match: { names: ["web-*"] }\n',
    );
    const apply = async (...flags: string[]) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => {
        text += d;
      });
      const code = await main(
        ['apply', '--policies', dir, ...flags],
        {
          AWS_REGION: TEST_REGION,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        },
        { stdout: out, stderr: out },
      );
      if (code !== 0) t.log(`apply ${flags.join(' ')} exited ${code}:\n${text}`);
      return code;
    };
    t.is(await apply('--dry-run'), 0);
    t.is(await apply('--no-events'), 0);
    t.is((await q.receive(1)).length, 0, 'a dry run and --no-events published nothing');
    // The --no-events run tagged web-apply's members; a second group gives the default run something to do.
    await seedGroup(testClients(moto.endpoint), {
      name: 'web-apply-2',
      desired: 2,
      tags: { 'spotmax:enabled': 'true' },
    });
    t.is(await apply(), 0);
    const got = await q.receive(2);
    t.is(got.length, 2);
    for (const e of got)
      t.like(e, {
        source: 'spotmax',
        detail: { kind: 'tag-instance', group: 'web-apply-2', outcome: 'done' },
      });
  },
);
