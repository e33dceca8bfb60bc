import { join } from 'node:path';
import test from 'ava';
import { GROUP_TAG } from '../../src/domain/tags.js';
import type { SimRegion } from '../../src/sim/region.js';
import { loadScenario } from '../../src/sim/scenario.js';
import { runStrategy } from '../../src/simulate/runner.js';

// The stateful scenario, the seed's way: the broker's launch template maps its data volume at /dev/sdf
// (DeleteOnTermination true, as EC2 defaults) and a storm reclaims the broker's pool. With spotmax the
// volume that held the data before the storm is the one the broker has after it; with the Auto Scaling
// group alone, the reclaim deletes it with its instance.

const SCENARIOS = new URL('../../bench/scenarios/', import.meta.url).pathname;
const STORM_AT_SECONDS = 90 * 60;

async function play(strategy: 'spotmax' | 'asg-only') {
  const scenario = loadScenario(join(SCENARIOS, 'stateful.yaml'));
  let region: SimRegion | undefined;
  const run = await runStrategy(scenario, strategy, {
    policiesDir: join(SCENARIOS, 'policies'),
    durationSeconds: 3 * 3600,
    onRegion: (r) => {
      region = r;
    },
  });
  const r = region!;
  const volumes = [...r.volumes.volumes.values()].map((v) => v.volume);
  const members = [...r.asg.mustGet('broker').members.keys()];
  const beforeStorm = (v: (typeof volumes)[number]) =>
    (v.createTime?.getTime() ?? 0) < r.start + STORM_AT_SECONDS * 1000;
  return { run, volumes, members, beforeStorm };
}

test('stateful: spotmax keeps the broker data volume through the storm; the group alone loses it', async (t) => {
  const withSpotmax = await play('spotmax');
  t.true(withSpotmax.run.report.interruptions >= 1, 'the storm reclaimed the broker');
  const kept = withSpotmax.volumes.filter((v) => v.tags[GROUP_TAG] === 'broker');
  t.is(kept.length, 1, JSON.stringify(kept.map((v) => [v.volumeId, v.attachments])));
  t.true(withSpotmax.beforeStorm(kept[0]!), 'the volume from before the storm');
  t.true(
    withSpotmax.members.includes(kept[0]!.attachments[0]?.instanceId ?? ''),
    'attached to the broker now',
  );

  const alone = await play('asg-only');
  t.true(alone.run.report.interruptions >= 1);
  t.deepEqual(
    alone.volumes.filter((v) => alone.beforeStorm(v) && v.attachments.length === 0),
    [],
    'no volume from before the storm is left over',
  );
  const attached = alone.volumes.filter((v) => alone.members.includes(v.attachments[0]?.instanceId ?? ''));
  t.true(attached.length >= 1 && attached.every((v) => !alone.beforeStorm(v)), 'the broker has a fresh disk');
});
