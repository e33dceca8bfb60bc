import type { GroupSettings } from '../../config/schema.js';
import { describeError, SpotmaxError } from '../../domain/errors.js';
import { GROUP_TAG, SUPERSEDED_BY_TAG, VOLUME_TAG } from '../../domain/tags.js';
import type { Volume } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { LaunchPreparer } from '../interruption/context.js';
import { describeLaunched } from './eventual.js';
import { adoptOwnVolumeAtLaunch } from './launch-adopt.js';

// With a launch lifecycle hook, the group's persistent volume is attached before the new instance goes
// InService (then the fast path completes the hook). A volume still held by a stopped or terminated
// instance is detached first and waited for.

export interface LaunchVolumeContext {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** Device to attach at (persistentVolume.attachAs). */
  attachAs?: string;
  deadline?: Date;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Attaches a free volume of the group in the instance's AZ; returns it, or undefined when there is none. */
export async function attachVolumeForLaunch(
  ctx: LaunchVolumeContext,
  groupName: string,
  instanceId: string,
): Promise<{ volumeId: string } | undefined> {
  const { cloud, clock } = ctx;
  const device = ctx.attachAs ?? '/dev/xvdz';
  const log = ctx.logger.child({ group: groupName, instance: instanceId });
  // The launch hook comes right after the ASG's RunInstances: EC2 may not know the id for a few seconds.
  const instance = await describeLaunched(
    cloud.ec2,
    clock,
    instanceId,
    `attaching a volume for ${groupName}`,
  );
  if (!instance)
    throw new SpotmaxError(
      `attaching a volume to launching ${instanceId} of ${groupName}: the instance does not exist`,
    );
  // DescribeVolumes with a tag filter for this group: authoritative (observe.ts says why not the Tagging
  // API), and the group's volumes only, not every spotmax volume of the region.
  const ids = await cloud.ec2.findVolumeIdsByTag(GROUP_TAG, { [GROUP_TAG]: [groupName] });
  const volumes = (ids.length ? await cloud.ec2.describeVolumes(ids) : []).filter(
    (v) =>
      v.tags[GROUP_TAG] === groupName &&
      v.tags[SUPERSEDED_BY_TAG] === undefined &&
      v.availabilityZone === instance.availabilityZone,
  );
  const own = volumes.find((v) => v.attachments.some((a) => a.instanceId === instanceId));
  if (own) return { volumeId: own.volumeId };

  let volume: Volume | undefined = volumes.find((v) => v.state === 'available');
  if (!volume) {
    // Held by an instance that is stopped or gone (an interrupted member): free it.
    const held = volumes.filter((v) => v.state === 'in-use' && v.attachments[0]);
    const holders = held.length
      ? await cloud.ec2.describeInstances(held.map((v) => v.attachments[0]!.instanceId))
      : [];
    const state = new Map(holders.map((h) => [h.instanceId, h.state]));
    volume = held.find((v) => {
      const s = state.get(v.attachments[0]!.instanceId);
      return s === undefined || s === 'stopped' || s === 'terminated';
    });
    if (!volume) {
      log.info(
        { az: instance.availabilityZone },
        `no free volume of ${groupName} in ${instance.availabilityZone} for ${instanceId}`,
      );
      return undefined;
    }
    const holder = volume.attachments[0]!.instanceId;
    await cloud.ec2.detachVolume(volume.volumeId, holder);
    const until = ctx.deadline?.getTime() ?? clock.now().getTime() + 60_000;
    for (;;) {
      ctx.signal?.throwIfAborted();
      const [now] = await cloud.ec2.describeVolumes([volume.volumeId]);
      if (now?.state === 'available') break;
      if (clock.now().getTime() >= until)
        throw new SpotmaxError(
          `volume ${volume.volumeId} did not come free from ${holder} in time for ${instanceId}`,
        );
      await clock.sleep(ctx.pollMs ?? 1_000, ctx.signal);
    }
  }
  try {
    await cloud.ec2.attachVolume(volume.volumeId, instanceId, device);
  } catch (err) {
    throw new SpotmaxError(
      `attaching ${volume.volumeId} to launching ${instanceId} of ${groupName} at ${device}`,
      { cause: err },
    );
  }
  try {
    await cloud.ec2.createTags([instanceId], { [VOLUME_TAG]: volume.volumeId });
  } catch (err) {
    log.warn(
      { err: describeError(err) },
      `tagging ${instanceId} with its volume failed; the reconciler tags it`,
    );
  }
  log.info({ volume: volume.volumeId, device }, `attached ${volume.volumeId} to launching ${instanceId}`);
  return { volumeId: volume.volumeId };
}

/**
 * The fast path's launch preparer: attaches a free persistent volume of the group, or adopts the new
 * member's own volume at the device when none is free or on its way.
 */
export function volumeLaunchPreparer(deps: { cloud: Cloud; clock: Clock; logger: Logger }): LaunchPreparer {
  return async ({
    groupName,
    settings,
    instanceId,
    deadline,
    signal,
  }: {
    groupName: string;
    settings: GroupSettings;
    instanceId: string;
    deadline: Date;
    signal: AbortSignal;
  }) => {
    const device = settings.persistentVolume.device;
    if (!device) return;
    const ctx = { ...deps, attachAs: settings.persistentVolume.attachAs, deadline, signal };
    const moved = await attachVolumeForLaunch(ctx, groupName, instanceId);
    // No volume of the group came to it: its own (the template's, at the device) becomes one now.
    if (!moved) await adoptOwnVolumeAtLaunch(ctx, groupName, instanceId, device);
  };
}

/**
 * A standby attached in place of an interrupted member gets the group's volume in its AZ: launch hooks do
 * not run for attached instances ("Amazon EC2 Auto Scaling lifecycle hooks"), and the volume comes free
 * only once the interrupted instance has stopped or terminated. Tries until `until`; never throws (the
 * reconciler's volume plan is the fallback).
 */
export async function moveVolumeToStandby(
  ctx: LaunchVolumeContext,
  groupName: string,
  standbyId: string,
  until: Date,
): Promise<{ volumeId: string } | undefined> {
  const log = ctx.logger.child({ group: groupName, standby: standbyId });
  const pollMs = ctx.pollMs ?? 5_000;
  for (;;) {
    try {
      const got = await attachVolumeForLaunch({ ...ctx, deadline: until }, groupName, standbyId);
      if (got) return got;
    } catch (err) {
      log.warn(
        { err: describeError(err) },
        `moving a volume of ${groupName} to standby ${standbyId} failed; retrying`,
      );
    }
    if (ctx.signal?.aborted || ctx.clock.now().getTime() + pollMs > until.getTime()) {
      log.warn({}, `no volume of ${groupName} came free for standby ${standbyId}; the reconciler places it`);
      return undefined;
    }
    try {
      await ctx.clock.sleep(pollMs, ctx.signal);
    } catch {
      return undefined;
    }
  }
}
