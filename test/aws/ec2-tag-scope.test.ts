import test from 'ava';
import { tagValueFilters } from '../../src/aws/ec2-standby-reads.js';
import { createLaunchTemplate, createTestVolume, launchInstances } from '../helpers/aws-fixtures.js';
import { useMotoEnv } from './moto-env.js';

// Issue 16 item 2, against moto: a one-group pass finds its group's standbys and volumes with
// `tag:<key>` value filters beside the tag-key filter, not the region's.

const env = useMotoEnv();

test.serial('tag lookups narrowed to some groups return those groups only', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'lt');
  const [web, api, other] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 3 });
  await env.cloud.ec2.createTags([web!], { 'spotmax:standby-for': 'web' });
  await env.cloud.ec2.createTags([api!], { 'spotmax:standby-for': 'api' });
  await env.cloud.ec2.createTags([other!], { 'spotmax:standby-for': 'batch' });

  t.deepEqual(
    (await env.cloud.ec2.findInstanceIdsByTag('spotmax:standby-for')).sort(),
    [web, api, other].sort(),
    'unnarrowed: every group',
  );
  t.deepEqual(
    await env.cloud.ec2.findInstanceIdsByTag('spotmax:standby-for', { 'spotmax:standby-for': ['web'] }),
    [web],
  );
  t.deepEqual(
    (
      await env.cloud.ec2.findInstanceIdsByTag('spotmax:standby-for', {
        'spotmax:standby-for': ['web', 'api'],
      })
    ).sort(),
    [web, api].sort(),
  );
  // Another key narrows too (a replacement's old instance names its group in spotmax:group).
  await env.cloud.ec2.createTags([web!, api!], { 'spotmax:replacement': 'x' });
  await env.cloud.ec2.createTags([web!], { 'spotmax:group': 'web' });
  await env.cloud.ec2.createTags([api!], { 'spotmax:group': 'api' });
  t.deepEqual(await env.cloud.ec2.findInstanceIdsByTag('spotmax:replacement', { 'spotmax:group': ['api'] }), [
    api,
  ]);

  const webVol = await createTestVolume(env.raw.ec2, { az: 'us-east-1a', tags: { 'spotmax:group': 'web' } });
  await createTestVolume(env.raw.ec2, { az: 'us-east-1a', tags: { 'spotmax:group': 'api' } });
  t.deepEqual(await env.cloud.ec2.findVolumeIdsByTag('spotmax:group', { 'spotmax:group': ['web'] }), [
    webVol,
  ]);
});

// EC2 filter values take wildcards, "use a backslash to escape special characters. For example, a filter
// value of \*amazon\?\\ specifies the literal string *amazon?\" (EC2 API reference, Filter). moto does not
// unescape (an escaped value matches nothing there), so the escaping is checked on the request itself.
test('a group name with a wildcard character is sent escaped, so it matches itself only', (t) => {
  t.deepEqual(tagValueFilters({ 'spotmax:group': ['web*', 'a?b', 'c\\d', 'plain'] }), [
    { Name: 'tag:spotmax:group', Values: ['web\\*', 'a\\?b', 'c\\\\d', 'plain'] },
  ]);
  t.deepEqual(tagValueFilters(undefined), []);
});
