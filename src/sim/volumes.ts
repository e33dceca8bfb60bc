import type { Snapshot, Tags, Volume } from '../domain/types.js';
import type { CreateVolumeSpec } from '../ports/ec2.js';
import { awsError } from './api.js';
import type { SimBus } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { Ec2State, SimInstance, TemplateBlockDevice } from './ec2-state.js';

// EBS volumes and snapshots with EC2's rules: a volume attaches only to an instance in its own AZ
// ("Attach an Amazon EBS volume to an instance": the volume and instance must be in the same AZ), only
// when available, and detaches when its instance terminates. Snapshots complete after a while.
// An instance gets the data volumes of its launch template version at launch, with DeleteOnTermination
// true unless the mapping says otherwise ("If no value is specified for DeleteOnTermination, the default
// is true", ModifyInstanceAttribute / EbsBlockDevice API reference); a volume attached later has it false
// ("By default, Amazon EC2 deletes all EBS volumes that were attached when the instance launched. Volumes
// attached after instance launch continue running", TerminateInstances API reference). On termination
// the volumes with DeleteOnTermination are deleted, the others become available.

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
      if (e.type !== 'instance-state') return;
      if (e.to === 'terminated') this.instanceGone(e.instanceId);
      else if (e.from === 'none') this.launched(e.instanceId);
    });
  }

  /** The launch template version's data volumes, created and attached with the instance. */
  private launched(instanceId: string): void {
    const inst = this.ec2.get(instanceId);
    if (!inst?.launchTemplate) return;
    let mappings: TemplateBlockDevice[] | undefined;
    try {
      mappings = this.ec2.resolveTemplate(inst.launchTemplate).version.blockDevices;
    } catch {
      return;
    }
    for (const m of mappings ?? []) {
      const id = this.newVolumeId();
      const volume: Volume = {
        volumeId: id,
        availabilityZone: inst.availabilityZone,
        state: 'in-use',
        sizeGiB: m.sizeGiB,
        volumeType: m.volumeType ?? 'gp3',
        createTime: this.clock.now(),
        attachments: [],
        tags: {},
      };
      this.volumes.set(id, { volume, gen: 0 });
      this.attachNow(volume, inst, m.device, m.deleteOnTermination ?? true, 'attached');
    }
  }

  private newVolumeId(): string {
    return `vol-0${this.ec2.hex(`vol:${++this.counter}`, 16)}`;
  }

  private attachNow(
    v: Volume,
    inst: SimInstance,
    device: string,
    deleteOnTermination: boolean,
    state: 'attaching' | 'attached',
  ): void {
    v.state = 'in-use';
    v.attachments = [{ instanceId: inst.instanceId, device, state, deleteOnTermination }];
    let set = this.byInstance.get(inst.instanceId);
    if (!set) {
      set = new Set();
      this.byInstance.set(inst.instanceId, set);
    }
    set.add(v.volumeId);
    inst.blockDevices = [
      ...(inst.blockDevices ?? []).filter((b) => b.volumeId !== v.volumeId),
      { device, volumeId: v.volumeId, deleteOnTermination, status: state },
    ];
    inst.snapshot = undefined;
  }

  /** Keeps the instance's BlockDeviceMappings in step with the volume's attachment. */
  private syncDevice(instanceId: string, volumeId: string, status: string | undefined): void {
    const inst = this.ec2.get(instanceId);
    if (!inst?.blockDevices) return;
    inst.blockDevices =
      status === undefined
        ? inst.blockDevices.filter((b) => b.volumeId !== volumeId)
        : inst.blockDevices.map((b) => (b.volumeId === volumeId ? { ...b, status } : b));
    inst.snapshot = undefined;
  }

  /**
   * ModifyInstanceAttribute BlockDeviceMappings (DeleteOnTermination) for a volume attached at `device`.
   * EC2 refuses a device the instance has no volume at; the answer's code is not documented, this one is
   * what the EC2 error-code list gives for a bad attribute value.
   */
  setDeleteOnTermination(inst: SimInstance, device: string, deleteOnTermination: boolean): void {
    const bd = inst.blockDevices?.find((b) => b.device === device);
    if (!bd || inst.state === 'terminated')
      throw awsError(
        'InvalidInstanceAttributeValue',
        `No device is currently mapped at ${device} on instance '${inst.instanceId}'`,
      );
    const att = this.volumes.get(bd.volumeId)?.volume.attachments[0];
    if (att) att.deleteOnTermination = deleteOnTermination;
    inst.blockDevices = inst.blockDevices!.map((b) => (b === bd ? { ...b, deleteOnTermination } : b));
    inst.snapshot = undefined;
  }

  mustGet(id: string): SimVolume {
    const v = this.volumes.get(id);
    if (!v) throw awsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    return v;
  }

  create(req: CreateVolumeSpec): Volume {
    let size = req.sizeGiB;
    let source: Volume | undefined;
    if (req.snapshotId) {
      const snap = this.snapshots.get(req.snapshotId);
      if (!snap)
        throw awsError('InvalidSnapshot.NotFound', `The snapshot '${req.snapshotId}' does not exist.`);
      source = this.volumes.get(snap.volumeId)?.volume;
      size ??= source?.sizeGiB ?? 8;
    }
    if (!size)
      throw awsError('MissingParameter', 'The request must contain the parameter size or snapshotId');
    const type = req.volumeType ?? 'gp3';
    // CreateVolume API reference: Iops "is supported for io1, io2, and gp3 volumes only"; Throughput
    // "is valid only for gp3 volumes".
    if (req.iops !== undefined && !['io1', 'io2', 'gp3'].includes(type))
      throw awsError(
        'InvalidParameterCombination',
        `The parameter iops is not supported for ${type} volumes.`,
      );
    if (req.throughput !== undefined && type !== 'gp3')
      throw awsError('InvalidParameterCombination', `Throughput is not supported for ${type} volumes.`);
    const id = this.newVolumeId();
    // A volume from an encrypted snapshot is encrypted, with the snapshot's key unless another is given
    // (CreateVolume API reference, Encrypted / KmsKeyId); without the key named, the copy would not be
    // the same key the user chose (the sim keeps the source's key, as EC2 does).
    const encrypted = Boolean(req.encrypted || req.kmsKeyId || source?.encrypted);
    const kmsKeyId = req.kmsKeyId ?? (source?.encrypted ? source.kmsKeyId : undefined);
    const volume: Volume = {
      volumeId: id,
      availabilityZone: req.availabilityZone,
      state: 'creating',
      sizeGiB: size,
      volumeType: type,
      // DescribeVolumes reports IOPS for gp2 too: its baseline, 3 per GiB within 100-16,000.
      ...(type === 'gp2' ? { iops: Math.min(16000, Math.max(100, 3 * size)) } : {}),
      ...(req.iops !== undefined || type === 'gp3' ? { iops: req.iops ?? 3000 } : {}),
      ...(type === 'gp3' ? { throughput: req.throughput ?? 125 } : {}),
      ...(encrypted ? { encrypted, kmsKeyId: kmsKeyId ?? 'alias/aws/ebs' } : {}),
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
    this.attachNow(v, inst, device, false, 'attaching');
    this.later(sv, this.timings.attachSeconds, () => {
      if (v.attachments[0]) v.attachments[0].state = 'attached';
      this.syncDevice(instanceId, volumeId, 'attached');
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
    this.syncDevice(instanceId, volumeId, 'detaching');
    this.later(sv, this.timings.detachSeconds, () => this.release(volumeId, instanceId));
  }

  private release(volumeId: string, instanceId: string): void {
    const sv = this.volumes.get(volumeId);
    if (!sv) return;
    sv.gen++;
    sv.volume.state = 'available';
    sv.volume.attachments = [];
    this.byInstance.get(instanceId)?.delete(volumeId);
    this.syncDevice(instanceId, volumeId, undefined);
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
    for (const id of [...set]) {
      const v = this.volumes.get(id)?.volume;
      if (v?.attachments[0]?.deleteOnTermination) this.deleteWithInstance(v, instanceId);
      else this.release(id, instanceId);
    }
    this.byInstance.delete(instanceId);
  }

  /** DeleteOnTermination: the volume and its data go with the instance. */
  private deleteWithInstance(v: Volume, instanceId: string): void {
    const sv = this.volumes.get(v.volumeId);
    if (sv) sv.gen++;
    this.volumes.delete(v.volumeId);
    for (const k of Object.keys(v.tags)) this.ec2.tagIndex.get(k)?.delete(v.volumeId);
    this.syncDevice(instanceId, v.volumeId, undefined);
    this.bus.emit({
      type: 'volume',
      volumeId: v.volumeId,
      action: 'deleted',
      instanceId,
      az: v.availabilityZone,
    });
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
