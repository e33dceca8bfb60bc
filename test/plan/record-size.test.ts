import test from 'ava';
import {
  formatGroupSwap,
  formatMemberSwap,
  parseGroupSwap,
  parseMemberSwap,
} from '../../src/domain/swap-records.js';
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

test('standby swap records: on the group and on the swapped-in standby, at their largest, fit and read back', (t) => {
  const group = formatGroupSwap({ originalMax: 100_000, since: T });
  const member = formatMemberSwap({
    interrupted: 'i-0123456789abcdef0',
    desiredAfter: 100_000,
    units: 999,
    since: T,
  });
  t.notThrows(() => checkTags('autoscaling', { 'spotmax:standby-swap': group }));
  t.notThrows(() => checkTags('ec2', { 'spotmax:swapped-in': member }));
  t.deepEqual(parseGroupSwap(group), { originalMax: 100_000, since: T });
  t.deepEqual(parseMemberSwap(member), {
    interrupted: 'i-0123456789abcdef0',
    desiredAfter: 100_000,
    units: 999,
    since: T,
  });
  t.is(parseMemberSwap('for=i-1 desired=x units=1'), undefined);
  t.is(parseMemberSwap('for=i-1 desired=3 units=0'), undefined);
  t.is(parseGroupSwap('max=-1'), undefined);
});
