import { SpotmaxError } from '../../../domain/errors.js';
import { SUPERSEDED_BY_TAG, VOLUME_TAG } from '../../../domain/tags.js';
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
      ...(a.volumeType ? { volumeType: a.volumeType } : {}),
    });
    await ctx.cloud.ec2.createTags([a.target], { [SUPERSEDED_BY_TAG]: created.volumeId });
  },
};
