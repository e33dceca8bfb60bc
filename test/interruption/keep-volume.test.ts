import test from 'ava';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { GROUP_TAG, VOLUME_TAG } from '../../src/domain/tags.js';
import type { Volume } from '../../src/domain/types.js';
import { recordCalls } from '../../src/sim/recording.js';
import { warmRegion } from '../sim/helpers.js';
import { captureLogger, makeController, msg } from './helpers/setup.js';

// The warning is the last chance for a data disk the reconciler has not adopted yet (a member younger
// than a reconcile interval): the fast path sets its DeleteOnTermination to false before EC2 terminates
// the instance. On the simulated region, where a template's data volume goes with its instance unless
// DeleteOnTermination is false.

async function world() {
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a'],
        desired: 2,
        boot: { median: 60, p99: 60 },
        tags: { 'spotmax:managed': 'true' },
        persistentVolume: { sizeGiB: 20, device: '/dev/sdf', inTemplate: true },
      },
    ],
  });
  const rec = recordCalls(region.cloud, region.clock);
  const { controller } = makeController({
    cloud: rec.cloud,
    clock: region.clock,
    logger: captureLogger(),
    overrides: {
      web: (s) => {
        s.persistentVolume.device = '/dev/sdf';
      },
    },
  });
  const members = [...region.asg.mustGet('web').members.keys()];
  const dataOf = (id: string): Volume => {
    const bd = region.ec2.get(id)!.blockDevices!.find((b) => b.device === '/dev/sdf')!;
    return region.volumes.volumes.get(bd.volumeId)!.volume;
  };
  const warn = (id: string) =>
    region.clock.drive(
      controller.handleMessage(
        msg(
          buildSampleEvent({
            type: 'spot-interruption',
            instanceId: id,
            region: 'us-east-1',
            time: region.clock.now(),
          }),
        ),
        'q1',
      ),
    );
  return { region, rec, members, dataOf, warn };
}

test('a warning keeps the data disk of a member not adopted yet: it outlives the reclaim', async (t) => {
  const w = await world();
  const victim = w.members[0]!;
  const data = w.dataOf(victim);
  t.true(data.attachments[0]?.deleteOnTermination, 'not adopted: no reconcile pass ran');
  t.is(await w.warn(victim), 'delete');
  t.false(data.attachments[0]?.deleteOnTermination);
  t.like(data.tags, { [GROUP_TAG]: 'web', [VOLUME_TAG]: data.volumeId });
  t.is(w.region.ec2.get(victim)!.tags[VOLUME_TAG], data.volumeId);
  // EC2 terminates it at the end of the warning.
  w.region.ec2.terminate(w.region.ec2.get(victim)!);
  await w.region.clock.advanceBy(60_000);
  t.is(w.region.ec2.get(victim)!.state, 'terminated');
  t.is(w.region.volumes.volumes.get(data.volumeId)?.volume.state, 'available', 'the data survived');
});

test('a member that holds a moved volume keeps its own fresh template volume as the template set it', async (t) => {
  const w = await world();
  const victim = w.members[0]!;
  const own = w.dataOf(victim);
  // It received the group's volume (moved to it at attachAs) earlier: that one is the data.
  await w.rec.cloud.ec2.createTags([victim], { [VOLUME_TAG]: 'vol-0ffffffffffffffff' });
  t.is(await w.warn(victim), 'delete');
  t.deepEqual(w.rec.callsOf('setDeleteOnTermination'), []);
  t.true(own.attachments[0]?.deleteOnTermination);
});
