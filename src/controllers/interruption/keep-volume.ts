import type { GroupSettings } from '../../config/schema.js';
import { describeError } from '../../domain/errors.js';
import { GROUP_TAG, VOLUME_TAG } from '../../domain/tags.js';
import type { Instance } from '../../domain/types.js';
import { volumeAtDevice } from '../../plan/volume-adoption.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';

// The last chance for a data disk the reconciler has not adopted yet (a member younger than a reconcile
// interval, a reconciler that was down): the two-minute warning leaves time to set DeleteOnTermination
// to false before EC2 terminates the instance, so the volume survives and the reconciler moves it to
// the replacement. Only when the instance holds no volume of the group already: a member that received
// a moved volume keeps its own fresh template volume unadopted (plan/volume-adoption.ts says why).
// Never throws: the release and the detach must go on whatever happens here.

export async function keepDataVolume(
  deps: { cloud: Cloud; logger: Logger },
  groupName: string,
  settings: GroupSettings,
  instance: Instance,
): Promise<void> {
  const device = settings.persistentVolume.device;
  if (!device) return;
  const own = volumeAtDevice(instance, device);
  if (!own?.deleteOnTermination) return;
  const held = instance.tags[VOLUME_TAG];
  if (held !== undefined && held !== own.volumeId) return;
  const log = deps.logger.child({ group: groupName, instance: instance.instanceId, volume: own.volumeId });
  try {
    await deps.cloud.ec2.createTags([own.volumeId], { [GROUP_TAG]: groupName, [VOLUME_TAG]: own.volumeId });
    await deps.cloud.ec2.createTags([instance.instanceId], {
      [GROUP_TAG]: groupName,
      [VOLUME_TAG]: own.volumeId,
    });
    await deps.cloud.ec2.setDeleteOnTermination(instance.instanceId, own.device, false);
    log.info(
      { device: own.device },
      `kept ${own.volumeId} (${own.device}) of interrupted ${instance.instanceId} past its termination`,
    );
  } catch (err) {
    log.warn(
      { err: describeError(err) },
      `could not keep ${own.volumeId} of interrupted ${instance.instanceId}: EC2 deletes it with the instance`,
    );
  }
}
