import { GROUP_TAG } from '../domain/tags.js';
import type { BlockDevice, Instance, Volume } from '../domain/types.js';
import type { ManagedInput, PlanPart } from './input.js';
import { findInstance, isMarkedToLeave, membersWithInstances } from './members.js';

// The seed's persistent disk (max_group's `persistence_dev`): users put a second EBS volume in their
// image or launch template at, say, /dev/sdf. EC2 creates it with each instance and, by default, deletes
// it with the instance ("If no value is specified for DeleteOnTermination, the default is true",
// ModifyInstanceAttribute API reference): without spotmax a Spot reclaim takes the data with it.
//
// Adoption: a running member that holds none of the group's volumes has its own volume at the device
// tagged (spotmax:group, spotmax:volume) and set to DeleteOnTermination=false, on first sight, so it
// outlives the member. A member that already holds one of the group's volumes (moved to it after an
// interruption, at attachAs) keeps its own fresh template volume untouched: it is surplus, and spotmax
// neither adopts nor deletes it. Why keep rather than delete: from outside the instance nothing proves a
// volume never held data (the image's fstab or the user data may have mounted it and written to it), and
// leaving DeleteOnTermination as the template set it means EC2 deletes it with its instance anyway; it
// costs one extra volume per replacement while that instance lives (not a plan problem: it is the
// template doing what it says, and problems fail `plan --detailed-exitcode`). spotmax never deletes a
// volume and needs no ec2:DeleteVolume.
//
// A member whose AZ has a group volume on its way to a new holder (detaching, being created, or still
// attached to an instance that is leaving: stopped or gone, no longer a member, or a member still InService
// but marked to leave (members.ts isMarkedToLeave: interrupted, replaced launch-before-retire, asked to
// retire)) is not adopted: that volume is meant for it, and adopting its own would leave the old data
// without a member and add a volume per replacement. The newest such members wait; once the holder has
// gone the volume is attached to one of them (volumes.ts). The launch hook keeps the same rule
// (controllers/reconcile/launch-adopt.ts).

const IN_TRANSIT_HOLDER = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

/** /dev/sdf, sdf, /dev/xvdf name the same mapping (EC2 reports the name the mapping was given). */
export function sameDevice(a: string, b: string): boolean {
  const norm = (d: string) => d.replace(/^\/dev\//, '').replace(/^xvd/, 'sd');
  return norm(a) === norm(b);
}

/** The instance's volume at `device`, from DescribeInstances' block device mappings. */
export function volumeAtDevice(instance: Instance, device: string): BlockDevice | undefined {
  return instance.blockDevices?.find((b) => sameDevice(b.device, device) && b.status !== 'detaching');
}

/**
 * Adopt-volume actions and the problems of the persistent device. `holders` maps each instance that
 * holds (or is given this pass) one of the group's volumes to that volume; `active` are the group's
 * volumes not superseded.
 */
export function planAdoption(
  input: ManagedInput,
  part: PlanPart,
  holders: Map<string, string>,
  active: Volume[],
): void {
  const { group, settings } = input;
  const device = settings.persistentVolume.device;
  if (!device) return;
  const members = membersWithInstances(input).filter(
    (m) =>
      m.instance.state === 'running' &&
      !m.member.lifecycleState.startsWith('Terminating') &&
      m.member.lifecycleState !== 'Detaching',
  );

  // A held group volume that EC2 would still delete with its holder (an adoption cut short after the
  // tags): finish it.
  for (const m of members) {
    const held = holders.get(m.member.instanceId);
    const bd = held ? m.instance.blockDevices?.find((b) => b.volumeId === held) : undefined;
    if (held && bd?.deleteOnTermination) {
      part.actions.push({
        kind: 'adopt-volume',
        group: group.name,
        target: held,
        instanceId: m.member.instanceId,
        device: bd.device,
        tagged: true,
        reason: `${held} (${bd.device} of ${m.member.instanceId}) would be deleted with its instance: DeleteOnTermination=false`,
      });
    }
  }

  const inTransit = new Map<string, number>();
  const memberIds = new Set(members.map((m) => m.member.instanceId));
  for (const v of active) {
    const att = v.attachments[0];
    const holder = att ? findInstance(input, att.instanceId) : undefined;
    const moving =
      v.state === 'creating' ||
      att?.state === 'detaching' ||
      (holder !== undefined &&
        (memberIds.has(holder.instanceId)
          ? isMarkedToLeave(holder)
          : IN_TRANSIT_HOLDER.has(holder.state) || holder.tags[GROUP_TAG] === group.name));
    if (moving) inTransit.set(v.availabilityZone, (inTransit.get(v.availabilityZone) ?? 0) + 1);
  }

  const needers = members
    .filter((m) => !holders.has(m.member.instanceId))
    .sort((a, b) => b.instance.launchTime.getTime() - a.instance.launchTime.getTime());
  const reserved = new Map(inTransit);
  let withDevice = 0;
  for (const m of members) if (volumeAtDevice(m.instance, device)) withDevice++;
  for (const m of needers) {
    const az = m.instance.availabilityZone;
    const left = reserved.get(az) ?? 0;
    if (left > 0) {
      // The newest members take the volumes on their way, as the placement does.
      reserved.set(az, left - 1);
      continue;
    }
    const bd = volumeAtDevice(m.instance, device);
    if (!bd) continue;
    part.actions.push({
      kind: 'adopt-volume',
      group: group.name,
      target: bd.volumeId,
      instanceId: m.member.instanceId,
      device: bd.device,
      tagged: false,
      reason: `${m.member.instanceId} holds no volume of ${group.name}: adopt its ${bd.device} ${bd.volumeId} (tags, DeleteOnTermination=false)`,
    });
    holders.set(m.member.instanceId, bd.volumeId);
  }

  if (members.length > 0 && withDevice === 0 && active.length === 0) {
    part.problems.push(
      `persistentVolume.device is ${device}, but none of the ${members.length} running member(s) has an EBS volume there and ${group.name} has no volume tagged spotmax:group: nothing survives an interruption. Map a data volume at ${device} in the launch template (or the image), or fix the device name`,
    );
  }

  // Volumes beyond the desired count (after a scale-in, say) are kept and reported, never deleted.
  const weighted = group.members.some((m) => m.weightedCapacity !== undefined);
  const wanted = weighted ? group.members.length : group.desired;
  if (active.length > wanted) {
    const idle = active.filter((v) => v.attachments.length === 0).map((v) => v.volumeId);
    part.problems.push(
      `${group.name} has ${active.length} persistent volumes for ${wanted} ${weighted ? 'member(s)' : 'desired'}; spotmax keeps them all (never deletes a volume)${idle.length ? `, unattached: ${idle.join(', ')}` : ''}`,
    );
  }
}
