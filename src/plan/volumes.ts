import type { RecreateVolumeAction } from '../domain/actions.js';
import {
  GROUP_TAG,
  RECREATED_FROM_TAG,
  SNAPSHOT_OF_TAG,
  SUPERSEDED_BY_TAG,
  VOLUME_TAG,
  VOLUME_UNPLACED_SINCE_TAG,
} from '../domain/tags.js';
import type { Instance, Snapshot, Volume } from '../domain/types.js';
import { emptyPart, type ManagedInput, type PlanPart, soonest } from './input.js';
import { findInstance, formatMinutes, isSettled, membersWithInstances, minutesBetween } from './members.js';
import { planAdoption } from './volume-adoption.js';

// Persistent volumes (seed: persistence_dev): each of the group's volumes is attached to a running
// member in its AZ that has none, and the member is tagged with the volume id for in-instance scripts.
// A volume held by a stopped or terminated instance moves on; snapshots are taken every interval; a
// volume stranded in an AZ without members is recreated elsewhere from its latest snapshot. Members'
// own volumes at the device are adopted (volume-adoption.ts). spotmax never deletes a volume.

const ATTACHED = new Set(['attaching', 'attached', 'busy']);

export function groupVolumes(input: ManagedInput): Volume[] {
  return input.observation.volumes.filter(
    (v) => v.tags[GROUP_TAG] === input.group.name && v.state !== 'deleting' && v.state !== 'deleted',
  );
}

export function snapshotsOf(input: ManagedInput, volumeId: string): Snapshot[] {
  return (input.snapshots ?? [])
    .filter(
      (s) =>
        s.tags[SNAPSHOT_OF_TAG] === volumeId ||
        (s.volumeId === volumeId &&
          s.tags[SNAPSHOT_OF_TAG] === undefined &&
          s.tags[GROUP_TAG] === input.group.name),
    )
    .sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

export function planVolumes(input: ManagedInput): PlanPart {
  const part = emptyPart();
  const { group, settings } = input;
  const cfg = settings.persistentVolume;
  if (!cfg.device) return part;
  const volumes = groupVolumes(input);
  const active = volumes.filter((v) => v.tags[SUPERSEDED_BY_TAG] === undefined);
  const memberIds = new Set(group.members.map((m) => m.instanceId));

  // Who holds a volume now (or is about to, from this pass).
  const holders = new Map<string, string>();
  for (const v of active)
    for (const a of v.attachments) if (ATTACHED.has(a.state)) holders.set(a.instanceId, v.volumeId);
  const settled = membersWithInstances(input).filter(isSettled);

  for (const v of active) {
    const id = v.volumeId;
    const attachment = v.attachments.find((a) => ATTACHED.has(a.state) || a.state === 'detaching');
    if (attachment?.state === 'detaching') {
      part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 15);
      continue;
    }
    if (attachment) {
      const holder = findInstance(input, attachment.instanceId);
      placeAttached(input, part, v, attachment.instanceId, holder, memberIds.has(attachment.instanceId));
      continue;
    }
    if (v.state !== 'available') {
      if (v.state === 'creating') part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 20);
      else if (v.state === 'error')
        part.problems.push(`volume ${id} is in state error; spotmax leaves it alone`);
      continue;
    }
    const candidate = settled
      .filter((m) => m.instance.availabilityZone === v.availabilityZone && !holders.has(m.member.instanceId))
      .sort((a, b) => b.instance.launchTime.getTime() - a.instance.launchTime.getTime())[0];
    if (candidate) {
      holders.set(candidate.member.instanceId, id);
      part.actions.push({
        kind: 'attach-volume',
        group: group.name,
        target: id,
        instanceId: candidate.member.instanceId,
        device: cfg.attachAs,
        reason: `attach ${id} to ${candidate.member.instanceId} in ${v.availabilityZone} at ${cfg.attachAs}`,
      });
      clearUnplaced(input, part, v, `${id} has a member again`);
      continue;
    }
    strandedVolume(input, part, v, volumes, settled, holders);
  }

  planAdoption(input, part, holders, active);

  // Members tagged with a volume they no longer hold lose the tag (in-instance scripts trust it).
  for (const m of membersWithInstances(input)) {
    const tagged = m.instance.tags[VOLUME_TAG];
    if (
      tagged !== undefined &&
      holders.get(m.member.instanceId) !== tagged &&
      m.instance.state === 'running'
    ) {
      part.actions.push({
        kind: 'untag-resource',
        group: group.name,
        target: m.member.instanceId,
        keys: [VOLUME_TAG],
        reason: `${m.member.instanceId} no longer holds ${tagged}`,
      });
    }
  }

  if (cfg.snapshotIntervalMinutes > 0) {
    for (const v of active) planSnapshots(input, part, v);
  }
  return part;
}

function clearUnplaced(input: ManagedInput, part: PlanPart, v: Volume, reason: string): void {
  if (v.tags[VOLUME_UNPLACED_SINCE_TAG] === undefined) return;
  part.actions.push({
    kind: 'untag-resource',
    group: input.group.name,
    target: v.volumeId,
    keys: [VOLUME_UNPLACED_SINCE_TAG],
    reason,
  });
}

function placeAttached(
  input: ManagedInput,
  part: PlanPart,
  v: Volume,
  holderId: string,
  holder: Instance | undefined,
  member: boolean,
): void {
  const { group } = input;
  const id = v.volumeId;
  const state = holder?.state;
  if (member && state === 'running') {
    if (holder && holder.tags[VOLUME_TAG] !== id) {
      part.actions.push({
        kind: 'tag-resource',
        group: group.name,
        target: holderId,
        tags: { [VOLUME_TAG]: id },
        reason: `${holderId} holds ${id}; tag it for in-instance scripts`,
      });
    }
    clearUnplaced(input, part, v, `${id} is attached to ${holderId}`);
    return;
  }
  if (state === 'stopped' || state === 'terminated') {
    // The old holder is gone or stopped (after an interruption): the volume moves to a member.
    part.actions.push({
      kind: 'detach-volume',
      group: group.name,
      target: id,
      instanceId: holderId,
      reason: `move ${id}: its holder ${holderId} is ${state}`,
    });
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 15);
    return;
  }
  if (holder && holder.tags[GROUP_TAG] === group.name) {
    // One of ours on its way out (stopping, shutting down, detached): wait until it has stopped.
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 20);
    return;
  }
  part.problems.push(
    `volume ${id} is in use by ${holderId}${state ? ` (${state})` : ''}, which is not a member of ${group.name}; spotmax leaves it there`,
  );
}

function strandedVolume(
  input: ManagedInput,
  part: PlanPart,
  v: Volume,
  volumes: Volume[],
  settled: ReturnType<typeof membersWithInstances>,
  holders: Map<string, string>,
): void {
  const { group, settings, now } = input;
  const id = v.volumeId;
  if (settled.length > 0 && settled.every((m) => holders.has(m.member.instanceId))) {
    // Every member holds a volume: this one is surplus (left by a scale-in), not stranded. It is kept
    // where it is and reported with the count (volume-adoption.ts), never copied to another AZ.
    clearUnplaced(input, part, v, `${id} is surplus: every member of ${group.name} holds a volume`);
    return;
  }
  const sinceTag = v.tags[VOLUME_UNPLACED_SINCE_TAG];
  const since = sinceTag ? new Date(sinceTag) : undefined;
  if (!since || Number.isNaN(since.getTime())) {
    part.actions.push({
      kind: 'tag-resource',
      group: group.name,
      target: id,
      tags: { [VOLUME_UNPLACED_SINCE_TAG]: now.toISOString() },
      reason: `${id}: no running member without a volume in ${v.availabilityZone}`,
    });
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
    return;
  }
  const waited = minutesBetween(since, now);
  const limit = settings.persistentVolume.crossAzAfterMinutes;
  if (waited < limit) {
    part.requeueAfterSeconds = soonest(
      part.requeueAfterSeconds,
      Math.max(15, Math.ceil((limit - waited) * 60)),
    );
    return;
  }
  const copy = volumes.find((o) => o.tags[RECREATED_FROM_TAG] === id);
  if (copy) {
    part.actions.push({
      kind: 'tag-resource',
      group: group.name,
      target: id,
      tags: { [SUPERSEDED_BY_TAG]: copy.volumeId },
      reason: `${id} was recreated as ${copy.volumeId}; kept, not deleted`,
    });
    return;
  }
  const snapshot = snapshotsOf(input, id).find((s) => s.state === 'completed');
  if (!snapshot) {
    part.problems.push(
      `volume ${id} has had no member in ${v.availabilityZone} for ${formatMinutes(waited)} and has no completed snapshot to recreate it from`,
    );
    return;
  }
  const free = new Map<string, number>();
  for (const m of settled) {
    const zone = m.instance.availabilityZone;
    if (zone !== v.availabilityZone && !holders.has(m.member.instanceId))
      free.set(zone, (free.get(zone) ?? 0) + 1);
  }
  const target = [...free.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  if (!target) {
    part.problems.push(
      `volume ${id} has had no member in ${v.availabilityZone} for ${formatMinutes(waited)}, and no other AZ has a member without a volume`,
    );
    return;
  }
  const tags: Record<string, string> = {};
  for (const [k, val] of Object.entries(v.tags))
    if (k !== VOLUME_UNPLACED_SINCE_TAG && !k.startsWith('aws:')) tags[k] = val;
  tags[RECREATED_FROM_TAG] = id;
  const action: RecreateVolumeAction = {
    kind: 'recreate-volume',
    group: group.name,
    target: id,
    snapshotId: snapshot.snapshotId,
    availabilityZone: target,
    sizeGiB: v.sizeGiB,
    tags,
    reason: `${id}: no member in ${v.availabilityZone} for ${formatMinutes(waited)} >= crossAzAfterMinutes ${limit}; recreate from ${snapshot.snapshotId} in ${target}`,
    ...copyAttributes(v),
  };
  part.actions.push(action);
}

/**
 * What a copy keeps of the original besides its data: type, provisioned performance, encryption key.
 * CreateVolume takes Iops for io1/io2/gp3 only and Throughput for gp3 only (DescribeVolumes reports a gp2
 * volume's baseline IOPS, which CreateVolume would refuse). A volume from an encrypted snapshot is
 * encrypted anyway; naming the key keeps the user's key rather than whatever the request defaults to.
 */
type CopiedAttributes = Pick<
  RecreateVolumeAction,
  'volumeType' | 'iops' | 'throughput' | 'encrypted' | 'kmsKeyId'
>;

export function copyAttributes(v: Volume): CopiedAttributes {
  const out: CopiedAttributes = {};
  if (v.volumeType) out.volumeType = v.volumeType;
  if (v.iops !== undefined && ['io1', 'io2', 'gp3'].includes(v.volumeType ?? '')) out.iops = v.iops;
  if (v.throughput !== undefined && v.volumeType === 'gp3') out.throughput = v.throughput;
  if (v.encrypted) {
    out.encrypted = true;
    if (v.kmsKeyId) out.kmsKeyId = v.kmsKeyId;
  }
  return out;
}

function planSnapshots(input: ManagedInput, part: PlanPart, v: Volume): void {
  const { group, settings, now } = input;
  const { snapshotIntervalMinutes: interval, snapshotRetain: retain } = settings.persistentVolume;
  if (v.state !== 'available' && v.state !== 'in-use') return;
  const ours = snapshotsOf(input, v.volumeId);
  const latest = ours[0];
  const age = latest ? minutesBetween(latest.startTime, now) : undefined;
  if (age === undefined || age >= interval) {
    part.actions.push({
      kind: 'snapshot-volume',
      group: group.name,
      target: v.volumeId,
      tags: { [GROUP_TAG]: group.name, [SNAPSHOT_OF_TAG]: v.volumeId },
      reason:
        age === undefined
          ? `snapshot ${v.volumeId}: none yet`
          : `snapshot ${v.volumeId}: last ${formatMinutes(age)} ago >= snapshotIntervalMinutes ${interval}`,
    });
  }
  // Only completed snapshots count towards the ones kept; a pending one is not yet a backup.
  for (const old of ours.filter((s) => s.state === 'completed').slice(retain)) {
    part.actions.push({
      kind: 'delete-snapshot',
      group: group.name,
      target: old.snapshotId,
      reason: `keep the last ${retain} snapshots of ${v.volumeId}`,
    });
  }
}
