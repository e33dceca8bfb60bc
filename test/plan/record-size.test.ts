import test from 'ava';
import { formatFallbackRecord } from '../../src/plan/fallback-record.js';
import { formatReplacementRecord } from '../../src/plan/replacement-record.js';
import { checkTags } from '../../src/sim/tag-rules.js';

// Every state record spotmax writes into a tag must fit a tag value (256 characters, "Tag your Auto
// Scaling groups and instances" / "Tag your Amazon EC2 resources"): each record here with its worst
// realistic input, checked by the sim's own tag rules.

const T = new Date('2026-11-22T16:00:00.000Z');

test('fallback record: the largest realistic record fits a group tag', (t) => {
  const value = formatFallbackRecord({
    since: T,
    attempt: 10_000,
    phase: 'returning',
    returnedAt: T,
  });
  t.true(value.length <= 256, `${value.length} characters`);
  t.notThrows(() => checkTags('autoscaling', { 'spotmax:fallback-original': value }));
});

test('replacement record: every field at its largest fits an instance tag', (t) => {
  const value = formatReplacementRecord({
    step: 'restoring-max',
    since: T,
    why: 'return-to-spot',
    desiredBefore: 100_000,
    maxBefore: 100_000,
    addedCapacity: true,
    raisedMax: true,
    newInstanceId: 'i-0123456789abcdef0',
    maxExpected: 100_000,
    forced: true,
    interrupted: true,
    gone: true,
    desiredExpected: 100_000,
  });
  t.true(value.length <= 256, `${value.length} characters: ${value}`);
  t.notThrows(() => checkTags('ec2', { 'spotmax:replacement': value }));
});
