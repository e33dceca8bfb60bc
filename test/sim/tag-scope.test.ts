import test from 'ava';
import { warmRegion, webGroup } from './helpers.js';

// The simulated region answers `tag:<key>` value filters as EC2 does (test/aws/ec2-tag-scope.test.ts
// checks the adapter against moto): every filter must match, by one of its values, literally.

test('tag lookups narrowed by tag values: every filter matched by one of its values', async (t) => {
  const region = await warmRegion({
    groups: [webGroup({ name: 'web', desired: 1 }), webGroup({ name: 'api', desired: 1 })],
  });
  const [web] = [...region.asg.mustGet('web').members.keys()];
  const [api] = [...region.asg.mustGet('api').members.keys()];
  const ec2 = region.cloud.ec2;
  await ec2.createTags([web!, api!], { 'spotmax:replacement': 'x' });
  t.deepEqual((await ec2.findInstanceIdsByTag('spotmax:replacement')).sort(), [web, api].sort());
  t.deepEqual(
    await ec2.findInstanceIdsByTag('spotmax:replacement', { 'aws:autoscaling:groupName': ['api'] }),
    [api],
  );
  t.deepEqual(
    await ec2.findInstanceIdsByTag('spotmax:replacement', { 'aws:autoscaling:groupName': ['web*'] }),
    [],
    'a value is literal, not a pattern',
  );
  t.deepEqual(
    await ec2.findInstanceIdsByTag('spotmax:replacement', {
      'aws:autoscaling:groupName': ['web'],
      team: ['x'],
    }),
    [],
    'a filter on a tag the instance lacks excludes it',
  );
});
