import { SpotmaxError } from '../../domain/errors.js';
import { GROUP_TAG, SUPERSEDED_BY_TAG, VOLUME_TAG } from '../../domain/tags.js';
import { isMarkedToLeave } from '../../plan/members.js';
import { volumeAtDevice } from '../../plan/volume-adoption.js';
import type { LaunchVolumeContext } from './launch-volume.js';

// With a launch lifecycle hook the persistent disk of a new member need not wait for the next reconcile
// pass (up to a minute, in which a Spot reclaim could already come): when no volume of the group came to
// it, its own volume at persistentVolume.device is adopted before it goes InService. The same rule as
// the planner's (plan/volume-adoption.ts): not while a volume of the group in its AZ is on its way to a
// new holder (free, or held by an instance that is interrupted, being replaced or no longer running),
// since that volume is meant for this member and the reconciler will move it.

export async function adoptOwnVolumeAtLaunch(
  ctx: LaunchVolumeContext,
  groupName: string,
  instanceId: string,
  device: string,
): Promise<{ volumeId: string } | undefined> {
  const { cloud } = ctx;
  const log = ctx.logger.child({ group: groupName, instance: instanceId });
  const [instance] = await cloud.ec2.describeInstances([instanceId]);
  const own = instance ? volumeAtDevice(instance, device) : undefined;
  if (!instance || !own) return undefined;
  if (own.deleteOnTermination === false && instance.tags[VOLUME_TAG] === own.volumeId)
    return { volumeId: own.volumeId };

  // DescribeVolumes with tag filters, the group's volumes only: authoritative, where the Resource Groups
  // Tagging API lags behind CreateTags and would list every spotmax volume of the region.
  const ids = await cloud.ec2.findVolumeIdsByTag(GROUP_TAG, { [GROUP_TAG]: [groupName] });
  const volumes = (ids.length ? await cloud.ec2.describeVolumes(ids) : []).filter(
    (v) =>
      v.tags[GROUP_TAG] === groupName &&
      v.tags[SUPERSEDED_BY_TAG] === undefined &&
      v.availabilityZone === instance.availabilityZone &&
      v.volumeId !== own.volumeId,
  );
  const holderIds = volumes.flatMap((v) => (v.attachments[0] ? [v.attachments[0].instanceId] : []));
  const holders = new Map(
    (holderIds.length ? await cloud.ec2.describeInstances(holderIds) : []).map((h) => [h.instanceId, h]),
  );
  const onItsWay = volumes.find((v) => {
    const att = v.attachments[0];
    if (!att || att.state === 'detaching') return v.state !== 'error';
    const h = holders.get(att.instanceId);
    return h?.state !== 'running' || isMarkedToLeave(h);
  });
  if (onItsWay) {
    log.info(
      { volume: onItsWay.volumeId },
      `${onItsWay.volumeId} of ${groupName} is on its way in ${instance.availabilityZone}: ${instanceId} keeps its own ${own.device} unadopted`,
    );
    return undefined;
  }
  try {
    await cloud.ec2.createTags([own.volumeId], { [GROUP_TAG]: groupName, [VOLUME_TAG]: own.volumeId });
    await cloud.ec2.createTags([instanceId], { [GROUP_TAG]: groupName, [VOLUME_TAG]: own.volumeId });
    await cloud.ec2.setDeleteOnTermination(instanceId, own.device, false);
  } catch (err) {
    throw new SpotmaxError(
      `adopting ${own.volumeId} (${own.device}) of launching ${instanceId} for ${groupName}`,
      { cause: err },
    );
  }
  log.info(
    { volume: own.volumeId, device: own.device },
    `adopted ${own.volumeId} at ${own.device} of launching ${instanceId}`,
  );
  return { volumeId: own.volumeId };
}
