import { Writable } from 'node:stream';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import test from 'ava';
import { eventsSendCommand } from '../../src/cli/events-send.js';
import { parseMessageBody } from '../../src/controllers/interruption/envelope.js';
import type { Env } from '../../src/main.js';
import { createTestQueue, testClients, testCloud } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_REGION } from '../helpers/moto.js';

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

function io(env: Env) {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write: (c, _e, cb) => {
        f(String(c));
        cb();
      },
    });
  return {
    io: { env, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
    out: () => out,
    err: () => err,
  };
}

test.serial(
  'sends a correctly shaped event the fast path parses, to the queue from SPOTMAX_QUEUE_URL',
  async (t) => {
    const clients = testClients(moto.endpoint);
    const queueUrl = await createTestQueue(clients.sqs, 'send-test');
    const cap = io({ SPOTMAX_QUEUE_URL: queueUrl, AWS_REGION: TEST_REGION, AWS_ENDPOINT_URL: moto.endpoint });
    let regionSeen = '';
    const code = await eventsSendCommand(
      { type: 'state-change', instance: 'i-0123456789abcdef0', state: 'stopped' },
      cap.io,
      (region) => {
        regionSeen = region;
        return testCloud(moto.endpoint);
      },
    );
    t.is(code, 0, cap.err());
    t.is(regionSeen, TEST_REGION);
    t.regex(cap.out(), /sent EC2 Instance State-change Notification for i-0123456789abcdef0/);
    const got = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    const parsed = parseMessageBody(got.Messages?.[0]?.Body ?? '', 'm');
    t.like(parsed, {
      ok: true,
      events: [{ kind: 'state-change', state: 'stopped', instanceId: 'i-0123456789abcdef0' }],
    });
  },
);

test.serial('the default AWS ports honour AWS_ENDPOINT_URL and --queue-url', async (t) => {
  const clients = testClients(moto.endpoint);
  const queueUrl = await createTestQueue(clients.sqs, 'send-test-2');
  // The SDK's credential chain reads the process environment; the emulator accepts any key.
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const cap = io({ AWS_ENDPOINT_URL: moto.endpoint });
  const code = await eventsSendCommand(
    { type: 'spot-interruption', instance: 'i-0123456789abcdef0', queueUrl, region: TEST_REGION },
    cap.io,
  );
  t.is(code, 0, cap.err());
  const got = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
  t.like(parseMessageBody(got.Messages?.[0]?.Body ?? '', 'm'), {
    ok: true,
    events: [{ kind: 'spot-interruption' }],
  });
});

test('missing queue or region, or a bad instance id: exit 1 saying what to pass', async (t) => {
  const noQueue = io({ AWS_REGION: 'us-east-1' });
  t.is(await eventsSendCommand({ type: 'rebalance', instance: 'i-0123456789abcdef0' }, noQueue.io), 1);
  t.regex(noQueue.err(), /--queue-url .*SPOTMAX_QUEUE_URL/);
  const noRegion = io({ SPOTMAX_QUEUE_URL: 'http://127.0.0.1:1/123/q' });
  t.is(await eventsSendCommand({ type: 'rebalance', instance: 'i-0123456789abcdef0' }, noRegion.io), 1);
  t.regex(noRegion.err(), /--region or set AWS_REGION/);
  const badId = io({});
  t.is(await eventsSendCommand({ type: 'rebalance', instance: 'web-1' }, badId.io), 1);
  t.regex(badId.err(), /--instance must be an EC2 instance id/);
});
