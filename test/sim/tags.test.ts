import test from 'ava';
import { CloudError } from '../../src/domain/errors.js';
import { MAX_TAG_VALUE } from '../../src/sim/tag-rules.js';
import { warmRegion } from './helpers.js';

// "Tag restrictions" (EC2 and Auto Scaling user guides): keys up to 128 characters, values up to 256,
// `aws:` keys reserved, at most 50 user tags per resource. A refused call changes nothing.

const codeOf = (err: unknown) => (err instanceof CloudError ? err.code : String(err));

test('CreateTags refuses a value over 256 characters, an aws: key and a 51st tag; nothing changes', async (t) => {
  const region = await warmRegion();
  const [id] = [...region.asg.mustGet('web').members.keys()] as [string];
  const long = 'x'.repeat(MAX_TAG_VALUE + 1);
  const e1 = await t.throwsAsync(region.cloud.ec2.createTags([id], { ok: 'yes', record: long }));
  t.is(codeOf(e1), 'InvalidParameterValue');
  t.is(region.ec2.get(id)!.tags.ok, undefined, 'the refused call tagged nothing');
  const e2 = await t.throwsAsync(region.cloud.ec2.createTags([id], { 'aws:autoscaling:groupName': 'other' }));
  t.is(codeOf(e2), 'InvalidParameterValue');
  const e3 = await t.throwsAsync(region.cloud.ec2.deleteTags([id], ['aws:autoscaling:groupName']));
  t.is(codeOf(e3), 'InvalidParameterValue');
  t.is(region.ec2.get(id)!.tags['aws:autoscaling:groupName'], 'web');

  await region.cloud.ec2.createTags([id], { record: 'x'.repeat(MAX_TAG_VALUE) });
  const fifty = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
  await region.cloud.ec2.createTags([id], fifty);
  const e4 = await t.throwsAsync(region.cloud.ec2.createTags([id], { one: 'more' }));
  t.is(codeOf(e4), 'TagLimitExceeded');
  await region.cloud.ec2.createTags([id], { k0: 'changed' });
  t.is(region.ec2.get(id)!.tags.k0, 'changed', 'changing an existing tag is not a new one');
});

test('CreateOrUpdateTags on a group refuses a value over 256 characters and an aws: key', async (t) => {
  const region = await warmRegion();
  const tag = (key: string, value: string) => [{ key, value, propagateAtLaunch: false }];
  const e1 = await t.throwsAsync(
    region.cloud.autoscaling.putGroupTags('web', tag('spotmax:x', 'y'.repeat(257))),
  );
  t.is(codeOf(e1), 'ValidationError');
  const e2 = await t.throwsAsync(
    region.cloud.autoscaling.putGroupTags('web', tag('aws:cloudformation:x', 'y')),
  );
  t.is(codeOf(e2), 'ValidationError');
  t.false(region.asg.mustGet('web').tags.has('spotmax:x'));
  await region.cloud.autoscaling.putGroupTags('web', tag('spotmax:x', 'y'.repeat(256)));
  t.is(region.asg.mustGet('web').tags.get('spotmax:x')?.value.length, 256);
});
