import type { Snapshot, Tags, Volume } from '../domain/types.js';
import type { Ec2Port } from '../ports/ec2.js';
import { awsError } from './api.js';
import type { SimBus } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { Ec2State } from './ec2-state.js';

// EBS volumes and snapshots with EC2's rules: a volume attaches only to an instance in its own AZ
// ("Attach an Amazon EBS volume to an instance": the volume and instance must be in the same AZ), only
// when available, and detaches when its instance terminates. Snapshots complete after a while.

export interface VolumeTimings {
  createSeconds: number;
  attachSeconds: number;
  detachSeconds: number;
  snapshotSeconds: number;
}

export const DEFAULT_VOLUME_TIMINGS: VolumeTimings = {
  createSeconds: 5,
  attachSeconds: 3,
  detachSeconds: 5,
  snapshotSeconds: 60,
};

interface SimVolume {
  volume: Volume;
  gen: number;
}

export class VolumeState {
  readonly volumes = new Map<string, SimVolume>();
  readonly snapshots = new Map<string, Snapshot>();
  /** instance id → attached volume ids, to detach them when the instance terminates. */
  private readonly byInstance = new Map<string, Set<string>>();
  private counter = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly ec2: Ec2State,
    private readonly bus: SimBus,
    readonly timings: VolumeTimings = DEFAULT_VOLUME_TIMINGS,
  ) {
    bus.on((e) => {
      if (e.type === 'instance-state' && e.to === 'terminated') this.instanceGone(e.instanceId);
    });
  }

  mustGet(id: string): SimVolume {
    const v = this.volumes.get(id);
    if (!v) throw awsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    return v;
  }

  create(req: Parameters<Ec2Port['createVolume']>[0]): Volume {
    let size = req.sizeGiB;
    if (req.snapshotId) {
      const snap = this.snapshots.get(req.snapshotId);
      if (!snap)
        throw awsError('InvalidSnapshot.NotFound', `The snapshot '${req.snapshotId}' does not exist.`);
      size ??= this.volumes.get(snap.volumeId)?.volume.sizeGiB ?? 8;
    }
    if (!size)
      throw awsError('MissingParameter', 'The request must contain the parameter size or snapshotId');
    const id = `vol-0${this.ec2.hex(`vol:${++this.counter}`, 16)}`;
    const volume: Volume = {
      volumeId: id,
      availabilityZone: req.availabilityZone,
      state: 'creating',
      sizeGiB: size,
      volumeType: req.volumeType ?? 'gp3',
      snapshotId: req.snapshotId,
      createTime: this.clock.now(),
      attachments: [],
      tags: { ...req.tags },
    };
    const sv = { volume, gen: 0 };
    this.volumes.set(id, sv);
    for (const k of Object.keys(req.tags)) this.ec2.index(k).add(id);
    this.later(sv, this.timings.createSeconds, () => {
      volume.state = 'available';
      this.bus.emit({ type: 'volume', volumeId: id, action: 'created', az: volume.availabilityZone });
    });
    return structuredClone(volume);
  }

  private later(sv: SimVolume, seconds: number, fn: () => void): void {
    const gen = ++sv.gen;
    this.clock.after(seconds * 1000, () => {
      if (sv.gen === gen) fn();
    });
  }

  attach(volumeId: string, instanceId: string, device: string): void {
    const sv = this.mustGet(volumeId);
    const inst = this.ec2.mustGet(instanceId);
    const v = sv.volume;
    if (inst.availabilityZone !== v.availabilityZone) {
      throw awsError(
        'InvalidVolume.ZoneMismatch',
        `The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`,
      );
    }
    if (v.state !== 'available')
      throw awsError('VolumeInUse', `vol '${volumeId}' is already attached to an instance`);
    if (inst.state !== 'running' && inst.state !== 'stopped') {
      throw awsError('IncorrectState', `Instance '${instanceId}' is not 'running' or 'stopped'.`);
    }
    v.state = 'in-use';
    v.attachments = [{ instanceId, device, state: 'attaching' }];
    let set = this.byInstance.get(instanceId);
    if (!set) {
      set = new Set();
      this.byInstance.set(instanceId, set);
    }
    set.add(volumeId);
    this.later(sv, this.timings.attachSeconds, () => {
      if (v.attachments[0]) v.attachments[0].state = 'attached';
      this.bus.emit({ type: 'volume', volumeId, action: 'attached', instanceId, az: v.availabilityZone });
    });
  }

  detach(volumeId: string, instanceId: string): void {
    const sv = this.mustGet(volumeId);
    const v = sv.volume;
    const att = v.attachments[0];
    if (!att || att.instanceId !== instanceId) {
      throw awsError(
        'InvalidAttachment.NotFound',
        `The volume '${volumeId}' is not attached to instance '${instanceId}'`,
      );
    }
    if (att.state === 'detaching') return;
    att.state = 'detaching';
    this.later(sv, this.timings.detachSeconds, () => this.release(volumeId, instanceId));
  }

  private release(volumeId: string, instanceId: string): void {
    const sv = this.volumes.get(volumeId);
    if (!sv) return;
    sv.gen++;
    sv.volume.state = 'available';
    sv.volume.attachments = [];
    this.byInstance.get(instanceId)?.delete(volumeId);
    this.bus.emit({
      type: 'volume',
      volumeId,
      action: 'detached',
      instanceId,
      az: sv.volume.availabilityZone,
    });
  }

  private instanceGone(instanceId: string): void {
    const set = this.byInstance.get(instanceId);
    if (!set) return;
    for (const id of [...set]) this.release(id, instanceId);
    this.byInstance.delete(instanceId);
  }

  describe(ids: string[]): Volume[] {
    return ids.map((id) => structuredClone(this.mustGet(id).volume));
  }

  setTags(id: string, tags: Tags): boolean {
    const target = this.volumes.get(id)?.volume ?? this.snapshots.get(id);
    if (!target) return false;
    Object.assign(target.tags, tags);
    if (this.volumes.has(id)) for (const k of Object.keys(tags)) this.ec2.index(k).add(id);
    return true;
  }

  removeTags(id: string, keys: string[]): boolean {
    const target = this.volumes.get(id)?.volume ?? this.snapshots.get(id);
    if (!target) return false;
    for (const k of keys) {
      delete target.tags[k];
      this.ec2.tagIndex.get(k)?.delete(id);
    }
    return true;
  }

  snapshot(volumeId: string, tags: Tags): Snapshot {
    this.mustGet(volumeId);
    const snap: Snapshot = {
      snapshotId: `snap-0${this.ec2.hex(`snap:${++this.counter}`, 16)}`,
      volumeId,
      state: 'pending',
      startTime: this.clock.now(),
      tags: { ...tags },
    };
    this.snapshots.set(snap.snapshotId, snap);
    this.clock.after(this.timings.snapshotSeconds * 1000, () => {
      snap.state = 'completed';
    });
    return { ...snap, tags: { ...snap.tags } };
  }

  describeSnapshots(filter: Tags): Snapshot[] {
    const out: Snapshot[] = [];
    for (const s of this.snapshots.values()) {
      if (Object.entries(filter).every(([k, v]) => s.tags[k] === v)) out.push({ ...s, tags: { ...s.tags } });
    }
    return out;
  }

  deleteSnapshot(id: string): void {
    if (!this.snapshots.delete(id))
      throw awsError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
  }
}
