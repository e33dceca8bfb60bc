import { SpotmaxError } from '../../../domain/errors.js';
import { GROUP_TAG, SUPERSEDED_BY_TAG, VOLUME_TAG } from '../../../domain/tags.js';
import type { ActionHandlers } from '../executor.js';

/** Persistent volumes and their snapshots. Nothing here deletes a volume. */
export const volumeHandlers: ActionHandlers = {
  'attach-volume': async (a, ctx) => {
    try {
      await ctx.cloud.ec2.attachVolume(a.target, a.instanceId, a.device);
    } catch (err) {
      throw new SpotmaxError(`attaching ${a.target} to ${a.instanceId} at ${a.device} for ${a.group}`, {
        cause: err,
      });
    }
    await ctx.cloud.ec2.createTags([a.instanceId], { [VOLUME_TAG]: a.target });
  },
  'adopt-volume': async (a, ctx) => {
    // Tags first: the IAM policy lets spotmax change DeleteOnTermination only on instances and volumes
    // tagged spotmax:group (deploy/iam/spotmax-policy.json, AdoptGroupVolumes), and the tags are what
    // finds the volume again after its instance is gone.
    if (!a.tagged) {
      await ctx.cloud.ec2.createTags([a.target], { [GROUP_TAG]: a.group, [VOLUME_TAG]: a.target });
      await ctx.cloud.ec2.createTags([a.instanceId], { [GROUP_TAG]: a.group, [VOLUME_TAG]: a.target });
    }
    try {
      await ctx.cloud.ec2.setDeleteOnTermination(a.instanceId, a.device, false);
    } catch (err) {
      throw new SpotmaxError(
        `keeping ${a.target} (${a.device} of ${a.instanceId}) past its instance for ${a.group}`,
        { cause: err },
      );
    }
  },
  'detach-volume': async (a, ctx) => ctx.cloud.ec2.detachVolume(a.target, a.instanceId),
  'snapshot-volume': async (a, ctx) => {
    await ctx.cloud.ec2.createSnapshot(a.target, a.tags);
  },
  'delete-snapshot': async (a, ctx) => ctx.cloud.ec2.deleteSnapshot(a.target),
  'recreate-volume': async (a, ctx) => {
    const created = await ctx.cloud.ec2.createVolume({
      availabilityZone: a.availabilityZone,
      snapshotId: a.snapshotId,
      sizeGiB: a.sizeGiB,
      tags: a.tags,
      volumeType: a.volumeType,
      iops: a.iops,
      throughput: a.throughput,
      encrypted: a.encrypted,
      kmsKeyId: a.kmsKeyId,
    });
    await ctx.cloud.ec2.createTags([a.target], { [SUPERSEDED_BY_TAG]: created.volumeId });
  },
};
