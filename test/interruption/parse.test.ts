import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import {
  MAX_BODY_BYTES,
  parseMessageBody,
  truncateBody,
} from '../../src/controllers/interruption/envelope.js';
import { buildSampleEvent, type SampleEventType } from '../../src/domain/sample-events.js';

const dir = new URL('../fixtures/events/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), 'utf8');

test('every fixture parses, or is deliberately discarded', (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.true(files.length >= 9);
  for (const f of files) {
    const r = parseMessageBody(fixture(f), 'm-1');
    if (f === 'asg-test-notification.json') {
      t.deepEqual(r, { ok: false, reason: 'test-notification', detail: 'autoscaling:TEST_NOTIFICATION' }, f);
    } else {
      t.true(r.ok, `${f}: ${JSON.stringify(r)}`);
    }
  }
});

test('Spot warning: instance, action and event time', (t) => {
  const r = parseMessageBody(fixture('spot-interruption-warning.json'), 'm');
  t.deepEqual(r, {
    ok: true,
    events: [
      {
        kind: 'spot-interruption',
        eventId: '12345678-1234-1234-1234-123456789012',
        instanceId: 'i-1234567890abcdef0',
        time: new Date('2021-02-01T12:00:00Z'),
        instanceAction: 'terminate',
      },
    ],
  });
});

test('SNS envelope around a Spot warning is unwrapped', (t) => {
  const r = parseMessageBody(fixture('sns-spot-interruption-warning.json'), 'm');
  t.true(r.ok);
  if (r.ok) t.is(r.events[0]?.kind, 'spot-interruption');
});

test('state change, rebalance, lifecycle (EventBridge and direct), health', (t) => {
  const sc = parseMessageBody(fixture('state-change-notification.json'), 'm');
  t.like(sc, {
    ok: true,
    events: [{ kind: 'state-change', state: 'stopping', instanceId: 'i-1234567890abcdef0' }],
  });
  t.like(parseMessageBody(fixture('rebalance-recommendation.json'), 'm'), {
    ok: true,
    events: [{ kind: 'rebalance' }],
  });
  t.like(parseMessageBody(fixture('lifecycle-terminate-action.json'), 'm'), {
    ok: true,
    events: [
      {
        kind: 'lifecycle-terminate',
        groupName: 'my-asg',
        hookName: 'my-lifecycle-hook',
        token: '0befc7c3-0d5b-4b5e-9c4f-a7e1b9f4b9f6',
      },
    ],
  });
  t.like(parseMessageBody(fixture('lifecycle-launch-action.json'), 'm'), {
    ok: true,
    events: [{ kind: 'lifecycle-launch' }],
  });
  t.like(parseMessageBody(fixture('asg-lifecycle-notification.json'), 'm'), {
    ok: true,
    events: [
      {
        kind: 'lifecycle-terminate',
        groupName: 'my-asg',
        eventId: '4e8f7a1b-2e59-4c2d-97c2-8b3e8a1c9f31',
        token: '71514b9d-6a40-4b26-8523-05e7eEXAMPLE',
      },
    ],
  });
  const health = parseMessageBody(fixture('health-scheduled-change.json'), 'm');
  t.true(health.ok);
  if (health.ok) {
    t.deepEqual(
      health.events.map((e) => [e.kind, e.instanceId]),
      [
        ['scheduled-change', 'i-1234567890abcdef0'],
        ['scheduled-change', 'i-0abcdef1234567890'],
      ],
    );
  }
});

test('bad bodies are discarded with a reason', (t) => {
  t.like(parseMessageBody('not json {', 'm'), { ok: false, reason: 'not-json' });
  t.like(parseMessageBody('[1,2]', 'm'), { ok: false, reason: 'malformed' });
  t.like(parseMessageBody('{"hello":"world"}', 'm'), { ok: false, reason: 'malformed' });
  t.like(parseMessageBody('x'.repeat(MAX_BODY_BYTES + 1), 'm'), { ok: false, reason: 'too-large' });
  const wrongDetail = JSON.parse(fixture('spot-interruption-warning.json'));
  wrongDetail.detail = { 'instance-id': 'not-an-instance' };
  const r = parseMessageBody(JSON.stringify(wrongDetail), 'm');
  t.like(r, { ok: false, reason: 'malformed' });
  if (!r.ok) t.regex(r.detail, /instance-id/);
  const other = {
    ...JSON.parse(fixture('spot-interruption-warning.json')),
    'detail-type': 'EC2 AMI State Change',
  };
  t.like(parseMessageBody(JSON.stringify(other), 'm'), { ok: false, reason: 'unknown-type' });
  const running = JSON.parse(fixture('state-change-notification.json'));
  running.detail.state = 'exploded';
  t.like(parseMessageBody(JSON.stringify(running), 'm'), { ok: false, reason: 'malformed' });
  const sns = { Type: 'Notification', Message: 'oops' };
  t.like(parseMessageBody(JSON.stringify(sns), 'm'), { ok: false, reason: 'not-json' });
  const nonEc2Health = JSON.parse(fixture('health-scheduled-change.json'));
  nonEc2Health.detail.service = 'RDS';
  t.like(parseMessageBody(JSON.stringify(nonEc2Health), 'm'), { ok: false, reason: 'irrelevant' });
});

test('the sample builder produces what the parser accepts, for every type', (t) => {
  const types: SampleEventType[] = [
    'spot-interruption',
    'rebalance',
    'state-change',
    'scheduled-change',
    'lifecycle-terminate',
    'lifecycle-launch',
  ];
  for (const type of types) {
    const ev = buildSampleEvent({
      type,
      instanceId: 'i-0123456789abcdef0',
      region: 'eu-west-1',
      time: new Date('2026-01-01T00:00:00.123Z'),
    });
    t.is(ev.time, '2026-01-01T00:00:00Z');
    const r = parseMessageBody(JSON.stringify(ev), 'm');
    t.true(r.ok, type);
    if (r.ok) t.is(r.events[0]?.kind, type);
  }
});

test('log bodies are truncated to 500 characters', (t) => {
  const out = truncateBody('y'.repeat(5000));
  t.true(out.startsWith('y'.repeat(500)));
  t.true(out.length < 530);
  t.is(truncateBody('short'), 'short');
});
