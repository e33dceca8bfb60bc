import { CloudError } from '../../src/domain/errors.js';
import type {
  AsgMember,
  Group,
  GroupTag,
  Instance,
  MixedInstancesPolicy,
  ScalingActivity,
  Snapshot,
  Tags,
  Volume,
} from '../../src/domain/types.js';
import type { AutoScalingPort, GroupUpdate } from '../../src/ports/autoscaling.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Cloud } from '../../src/ports/cloud.js';
import type { Ec2Port, LaunchTemplateVersionInfo, RunFromTemplateRequest } from '../../src/ports/ec2.js';
import type { MetricDatum } from '../../src/ports/metrics.js';

// An in-memory region behind spotmax's ports, for the dynamics moto cannot show: an ASG that launches to
// desired (booting for `bootSeconds`), Spot capacity that can run out per AZ (failed scaling activities),
// instances that take a tick to stop or terminate, snapshots that complete on a tick, and a "kill" switch
// that makes every call fail after N more changes, the way a killed process stops between two calls.

export class ManualClock implements Clock {
  private t: number;
  private waiters: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  constructor(start: Date) {
    this.t = start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal?.reason);
      };
      const w = {
        at: this.t + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      this.waiters.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  /** Moves time on and wakes every sleeper that is due. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.waiters.filter((w) => w.at <= this.t);
    this.waiters = this.waiters.filter((w) => w.at > this.t);
    for (const w of due) w.resolve();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
  get sleepers(): number {
    return this.waiters.length;
  }
}

interface FakeGroup {
  name: string;
  desired: number;
  min: number;
  max: number;
  launchTemplate?: { id: string; version: string };
  mixedInstancesPolicy?: MixedInstancesPolicy;
  subnets: { id: string; az: string }[];
  tags: GroupTag[];
  members: AsgMember[];
  activities: ScalingActivity[];
}

const MUTATING = /^(update|detach|attach|put|delete|create|run|start|stop|terminate|complete|record)/;

export class FakeCloud implements Cloud {
  readonly region = 'us-east-1';
  readonly groups = new Map<string, FakeGroup>();
  readonly instances = new Map<string, Instance>();
  readonly volumes = new Map<string, Volume>();
  readonly snapshots = new Map<string, Snapshot>();
  readonly templates = new Map<string, LaunchTemplateVersionInfo>();
  readonly calls: string[] = [];
  readonly metricData: MetricDatum[] = [];
  /** AZs without Spot capacity: Spot launches there fail with InsufficientInstanceCapacity. */
  readonly noSpotIn = new Set<string>();
  bootSeconds = 60;
  private seq = 0;
  private changesLeft = Number.POSITIVE_INFINITY;
  private failures = new Map<string, unknown[]>();

  constructor(readonly clock: Clock) {}

  // ---- test controls -------------------------------------------------------------------------

  /** After `n` more successful changes, every call throws (the process is dead) until revive(). */
  killAfter(n: number): void {
    this.changesLeft = n;
  }
  revive(): void {
    this.changesLeft = Number.POSITIVE_INFINITY;
  }
  get dead(): boolean {
    return this.changesLeft < 0;
  }
  /** The next call of `method` throws `err` (once per queued error). */
  failNext(method: string, err: unknown): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), err]);
  }

  private call(method: string, detail = ''): void {
    if (this.changesLeft <= 0 && (MUTATING.test(method) || this.changesLeft < 0)) {
      this.changesLeft = -1;
      throw new Error(`process killed before ${method}`);
    }
    const queued = this.failures.get(method);
    if (queued?.length) throw queued.shift();
    this.calls.push(detail ? `${method} ${detail}` : method);
    if (MUTATING.test(method)) this.changesLeft--;
  }

  private id(prefix: string): string {
    this.seq++;
    return `${prefix}-${this.seq.toString(16).padStart(8, '0')}`;
  }

  addTemplate(info: Partial<LaunchTemplateVersionInfo> & { id: string }): LaunchTemplateVersionInfo {
    const t: LaunchTemplateVersionInfo = {
      name: info.id,
      version: 1,
      isDefault: true,
      isLatest: true,
      hibernationReady: false,
      ...info,
    };
    this.templates.set(t.id, t);
    return t;
  }

  addGroup(spec: {
    name: string;
    desired: number;
    max?: number;
    min?: number;
    template?: string;
    mixed?: boolean;
    subnets?: { id: string; az: string }[];
    tags?: Tags;
  }): FakeGroup {
    const template = spec.template ?? 'lt-0001';
    if (!this.templates.has(template)) this.addTemplate({ id: template });
    const g: FakeGroup = {
      name: spec.name,
      desired: 0,
      min: spec.min ?? 0,
      max: spec.max ?? Math.max(spec.desired, 1) + 2,
      subnets: spec.subnets ?? [
        { id: 'subnet-a', az: 'us-east-1a' },
        { id: 'subnet-b', az: 'us-east-1b' },
      ],
      tags: Object.entries(spec.tags ?? { 'spotmax:group': spec.name }).map(([key, value]) => ({
        key,
        value,
        propagateAtLaunch: key === 'spotmax:group',
      })),
      members: [],
      activities: [],
    };
    if (spec.mixed === false) g.launchTemplate = { id: template, version: '$Latest' };
    else
      g.mixedInstancesPolicy = {
        launchTemplate: { id: template, version: '$Latest' },
        overrides: [{ instanceType: 'm5.large' }, { instanceType: 'm5a.large' }],
        instancesDistribution: {
          onDemandBaseCapacity: 0,
          onDemandPercentageAboveBaseCapacity: 0,
          spotAllocationStrategy: 'price-capacity-optimized',
        },
      };
    this.groups.set(g.name, g);
    g.desired = spec.desired;
    this.scale(g);
    for (const m of g.members) this.boot(m, true);
    return g;
  }

  /** Moves the region on: boots, stops, terminations, snapshots, and the ASG towards desired. */
  tick(): void {
    const now = this.clock.now().getTime();
    for (const i of this.instances.values()) {
      if (i.state === 'stopping') i.state = 'stopped';
      if (i.state === 'shutting-down') this.finishTermination(i);
      if (i.state === 'pending' && !this.isMember(i.instanceId)) i.state = 'running';
    }
    for (const s of this.snapshots.values()) if (s.state === 'pending') s.state = 'completed';
    for (const g of this.groups.values()) {
      for (const m of g.members) {
        const i = this.instances.get(m.instanceId);
        if (m.lifecycleState === 'Pending' && i && now - i.launchTime.getTime() >= this.bootSeconds * 1000)
          this.boot(m, false);
      }
      this.scale(g);
    }
  }

  private boot(m: AsgMember, now: boolean): void {
    m.lifecycleState = 'InService';
    const i = this.instances.get(m.instanceId);
    if (i) {
      i.state = 'running';
      if (now) i.launchTime = this.clock.now();
    }
  }

  private isMember(id: string): boolean {
    for (const g of this.groups.values()) if (g.members.some((m) => m.instanceId === id)) return true;
    return false;
  }

  private finishTermination(i: Instance): void {
    i.state = 'terminated';
    for (const v of this.volumes.values()) {
      if (v.attachments.some((a) => a.instanceId === i.instanceId)) {
        v.attachments = [];
        v.state = 'available';
      }
    }
  }

  private scale(g: FakeGroup): void {
    const live = g.members.filter((m) => m.lifecycleState !== 'Terminating');
    for (let n = live.length; n < g.desired; n++) this.launchMember(g);
    if (live.length > g.desired) {
      const victims = [...live]
        .sort((a, b) => this.launchTimeOf(b) - this.launchTimeOf(a))
        .slice(0, live.length - g.desired);
      for (const v of victims) {
        g.members = g.members.filter((m) => m !== v);
        const i = this.instances.get(v.instanceId);
        if (i) i.state = 'shutting-down';
      }
    }
  }

  private launchTimeOf(m: AsgMember): number {
    return this.instances.get(m.instanceId)?.launchTime.getTime() ?? 0;
  }

  private launchMember(g: FakeGroup): void {
    const counts = new Map(g.subnets.map((s) => [s.id, 0]));
    for (const m of g.members) {
      const sub = this.instances.get(m.instanceId)?.subnetId;
      if (sub) counts.set(sub, (counts.get(sub) ?? 0) + 1);
    }
    const subnet = [...g.subnets].sort((a, b) => (counts.get(a.id) ?? 0) - (counts.get(b.id) ?? 0))[0]!;
    const d = g.mixedInstancesPolicy?.instancesDistribution;
    const od = g.members.filter((m) => this.instances.get(m.instanceId)?.market === 'on-demand').length;
    const total = g.members.length + 1;
    const base = d?.onDemandBaseCapacity ?? 0;
    const pct = d ? (d.onDemandPercentageAboveBaseCapacity ?? 100) : 100;
    const wantOd = Math.min(total, base) + Math.ceil((Math.max(0, total - base) * pct) / 100);
    const market = !d ? 'on-demand' : od < wantOd ? 'on-demand' : 'spot';
    const when = this.clock.now();
    if (market === 'spot' && this.noSpotIn.has(subnet.az)) {
      g.activities.push({
        activityId: this.id('act'),
        groupName: g.name,
        statusCode: 'Failed',
        statusMessage:
          'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request.',
        description: 'Launching a new EC2 instance. Status Reason: InsufficientInstanceCapacity',
        startTime: when,
      });
      return;
    }
    const templateId = g.mixedInstancesPolicy?.launchTemplate.id ?? g.launchTemplate?.id ?? 'lt-0001';
    const tags: Tags = {};
    for (const t of g.tags) if (t.propagateAtLaunch) tags[t.key] = t.value;
    tags['aws:autoscaling:groupName'] = g.name;
    const i: Instance = {
      instanceId: this.id('i'),
      state: 'pending',
      market,
      instanceType: g.mixedInstancesPolicy?.overrides[0]?.instanceType ?? 'm5.large',
      availabilityZone: subnet.az,
      subnetId: subnet.id,
      privateIp: `10.0.0.${this.seq % 250}`,
      launchTime: when,
      tags,
      launchTemplate: { id: templateId, version: String(this.templates.get(templateId)?.version ?? 1) },
    };
    this.instances.set(i.instanceId, i);
    g.members.push({
      instanceId: i.instanceId,
      availabilityZone: subnet.az,
      lifecycleState: 'Pending',
      healthStatus: 'Healthy',
      instanceType: i.instanceType,
    });
    g.activities.push({
      activityId: this.id('act'),
      groupName: g.name,
      statusCode: 'Successful',
      description: `Launching a new EC2 instance: ${i.instanceId}`,
      startTime: when,
    });
  }

  /** Instances ever launched by the fake (members, standbys, anything). */
  launchedCount(): number {
    return this.instances.size;
  }

  group(name: string): FakeGroup {
    const g = this.groups.get(name);
    if (!g) throw new Error(`no fake group ${name}`);
    return g;
  }

  private err(action: string, code: string, message: string): CloudError {
    return new CloudError(action, message, code, false, Object.assign(new Error(message), { name: code }));
  }

  // ---- ports -----------------------------------------------------------------------------------

  readonly autoscaling: AutoScalingPort = {
    describeGroups: async (names) => {
      this.call('describeGroups');
      return [...this.groups.values()]
        .filter((g) => !names || names.includes(g.name))
        .map((g) => this.toGroup(g));
    },
    detachInstances: async (groupName, ids, decrement) => {
      this.call('detachInstances', `${groupName} ${ids.join(',')} ${decrement}`);
      const g = this.group(groupName);
      for (const id of ids) {
        if (!g.members.some((m) => m.instanceId === id)) {
          throw this.err(
            'DetachInstances',
            'ValidationError',
            `The instance ${id} is not part of Auto Scaling group ${groupName}.`,
          );
        }
      }
      if (decrement && g.desired - ids.length < g.min)
        throw this.err('DetachInstances', 'ValidationError', 'desired below min');
      g.members = g.members.filter((m) => !ids.includes(m.instanceId));
      if (decrement) g.desired -= ids.length;
    },
    attachInstances: async (groupName, ids) => {
      this.call('attachInstances', `${groupName} ${ids.join(',')}`);
      const g = this.group(groupName);
      if (g.desired + ids.length > g.max) {
        throw this.err(
          'AttachInstances',
          'ValidationError',
          `attaching would raise desired above MaxSize ${g.max}`,
        );
      }
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i?.state !== 'running')
          throw this.err('AttachInstances', 'ValidationError', `instance ${id} is not running`);
        g.members.push({
          instanceId: id,
          availabilityZone: i.availabilityZone,
          lifecycleState: 'InService',
          healthStatus: 'Healthy',
          instanceType: i.instanceType,
        });
      }
      g.desired += ids.length;
    },
    updateGroup: async (groupName, update: GroupUpdate) => {
      this.call(
        'updateGroup',
        `${groupName} ${JSON.stringify({ ...update, mixedInstancesPolicy: update.mixedInstancesPolicy ? 'whole' : undefined })}`,
      );
      const g = this.group(groupName);
      const desired = update.desired ?? g.desired;
      const min = update.min ?? g.min;
      const max = update.max ?? g.max;
      if (!(min <= desired && desired <= max)) {
        throw this.err(
          'UpdateAutoScalingGroup',
          'ValidationError',
          `desired ${desired} must be between min ${min} and max ${max}`,
        );
      }
      Object.assign(g, { desired, min, max });
      if (update.mixedInstancesPolicy) g.mixedInstancesPolicy = structuredClone(update.mixedInstancesPolicy);
    },
    putGroupTags: async (groupName, tags) => {
      this.call('putGroupTags', groupName);
      const g = this.group(groupName);
      for (const t of tags) {
        g.tags = g.tags.filter((x) => x.key !== t.key);
        g.tags.push({ ...t });
      }
    },
    deleteGroupTags: async (groupName, keys) => {
      this.call('deleteGroupTags', groupName);
      const g = this.group(groupName);
      g.tags = g.tags.filter((t) => !keys.includes(t.key));
    },
    describeScalingActivities: async (groupName, maxRecords = 20) => {
      this.call('describeScalingActivities');
      return [...this.group(groupName).activities]
        .reverse()
        .slice(0, maxRecords)
        .map((a) => ({ ...a }));
    },
    completeLifecycleAction: async () => this.call('completeLifecycleAction'),
    recordLifecycleActionHeartbeat: async () => this.call('recordLifecycleActionHeartbeat'),
    describeHookHeartbeatSeconds: async () => undefined,
  };

  private toGroup(g: FakeGroup): Group {
    const out: Group = {
      name: g.name,
      desired: g.desired,
      min: g.min,
      max: g.max,
      availabilityZones: [...new Set(g.subnets.map((s) => s.az))],
      subnetIds: g.subnets.map((s) => s.id),
      tags: g.tags.map((t) => ({ ...t })),
      members: g.members.map((m) => ({ ...m })),
    };
    if (g.launchTemplate) out.launchTemplate = { ...g.launchTemplate };
    if (g.mixedInstancesPolicy) out.mixedInstancesPolicy = structuredClone(g.mixedInstancesPolicy);
    return out;
  }

  private tagsOf(id: string): Tags | undefined {
    return this.instances.get(id)?.tags ?? this.volumes.get(id)?.tags ?? this.snapshots.get(id)?.tags;
  }

  readonly ec2: Ec2Port = {
    describeInstances: async (ids) => {
      this.call('describeInstances');
      return ids
        .map((id) => this.instances.get(id))
        .filter((i): i is Instance => !!i)
        .map((i) => ({ ...i, tags: { ...i.tags } }));
    },
    createTags: async (ids, tags) => {
      this.call('createTags', `${ids.join(',')} ${Object.keys(tags).join(',')}`);
      for (const id of ids) {
        const t = this.tagsOf(id);
        if (!t) throw this.err('CreateTags', 'InvalidID.NotFound', `The ID '${id}' is not valid`);
        Object.assign(t, tags);
      }
    },
    deleteTags: async (ids, keys) => {
      this.call('deleteTags', `${ids.join(',')} ${keys.join(',')}`);
      for (const id of ids) {
        const t = this.tagsOf(id);
        if (t) for (const k of keys) delete t[k];
      }
    },
    runInstances: async (req: RunFromTemplateRequest) => {
      this.call('runInstances', `${req.market} ${req.instanceType ?? ''} ${req.subnetId ?? ''}`);
      const t = req.launchTemplate.id ? this.templates.get(req.launchTemplate.id) : undefined;
      if (!t)
        throw this.err(
          'RunInstances',
          'InvalidLaunchTemplateId.NotFound',
          `launch template ${req.launchTemplate.id} does not exist`,
        );
      if (req.hibernate && !t.hibernationReady)
        throw this.err(
          'RunInstances',
          'InvalidParameterCombination',
          'hibernation needs an encrypted root volume',
        );
      const subnet = [...this.groups.values()].flatMap((g) => g.subnets).find((s) => s.id === req.subnetId);
      const out: Instance[] = [];
      for (let n = 0; n < (req.count ?? 1); n++) {
        const i: Instance = {
          instanceId: this.id('i'),
          state: 'pending',
          market: req.market,
          instanceType: req.instanceType ?? 'm5.large',
          availabilityZone: subnet?.az ?? req.availabilityZone ?? 'us-east-1a',
          launchTime: this.clock.now(),
          tags: { ...req.tags },
          launchTemplate: { id: t.id, version: req.launchTemplate.version ?? String(t.version) },
          hibernationConfigured: !!req.hibernate,
        };
        if (req.subnetId) i.subnetId = req.subnetId;
        this.instances.set(i.instanceId, i);
        out.push({ ...i });
      }
      return out;
    },
    startInstances: async (ids) => {
      this.call('startInstances', ids.join(','));
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i?.state !== 'stopped')
          throw this.err('StartInstances', 'IncorrectInstanceState', `${id} is not stopped`);
        i.state = 'pending';
      }
    },
    stopInstances: async (ids, hibernate) => {
      this.call('stopInstances', `${ids.join(',')} ${hibernate}`);
      for (const id of ids) {
        const i = this.instances.get(id);
        if (!i) throw this.err('StopInstances', 'InvalidInstanceID.NotFound', `${id}`);
        if (hibernate && !i.hibernationConfigured)
          throw this.err('StopInstances', 'UnsupportedHibernationConfiguration', `${id} cannot hibernate`);
        if (i.state === 'running' || i.state === 'pending') i.state = 'stopping';
      }
    },
    terminateInstances: async (ids) => {
      this.call('terminateInstances', ids.join(','));
      for (const id of ids) {
        const i = this.instances.get(id);
        if (!i || i.state === 'terminated') continue;
        i.state = 'shutting-down';
        for (const g of this.groups.values()) g.members = g.members.filter((m) => m.instanceId !== id);
      }
    },
    describeVolumes: async (ids) => {
      this.call('describeVolumes');
      return ids
        .map((id) => this.volumes.get(id))
        .filter((v): v is Volume => !!v)
        .map((v) => structuredClone(v));
    },
    attachVolume: async (volumeId, instanceId, device) => {
      this.call('attachVolume', `${volumeId} ${instanceId}`);
      const v = this.volumes.get(volumeId);
      const i = this.instances.get(instanceId);
      if (!v) throw this.err('AttachVolume', 'InvalidVolume.NotFound', `${volumeId}`);
      if (!i) throw this.err('AttachVolume', 'InvalidInstanceID.NotFound', `${instanceId}`);
      if (v.state !== 'available') throw this.err('AttachVolume', 'VolumeInUse', `${volumeId} is ${v.state}`);
      if (v.availabilityZone !== i.availabilityZone)
        throw this.err(
          'AttachVolume',
          'InvalidVolume.ZoneMismatch',
          `${volumeId} is in ${v.availabilityZone}`,
        );
      v.state = 'in-use';
      v.attachments = [{ instanceId, device, state: 'attached' }];
    },
    detachVolume: async (volumeId, instanceId) => {
      this.call('detachVolume', `${volumeId} ${instanceId}`);
      const v = this.volumes.get(volumeId);
      if (!v) throw this.err('DetachVolume', 'InvalidVolume.NotFound', volumeId);
      if (!v.attachments.some((a) => a.instanceId === instanceId))
        throw this.err('DetachVolume', 'IncorrectState', `${volumeId} is not attached to ${instanceId}`);
      v.attachments = [];
      v.state = 'available';
    },
    createVolume: async (req) => {
      this.call('createVolume', req.availabilityZone);
      const v: Volume = {
        volumeId: this.id('vol'),
        availabilityZone: req.availabilityZone,
        state: 'available',
        sizeGiB: req.sizeGiB ?? 8,
        attachments: [],
        tags: { ...req.tags },
      };
      if (req.snapshotId) v.snapshotId = req.snapshotId;
      if (req.volumeType) v.volumeType = req.volumeType;
      this.volumes.set(v.volumeId, v);
      return structuredClone(v);
    },
    createSnapshot: async (volumeId, tags) => {
      this.call('createSnapshot', volumeId);
      const s: Snapshot = {
        snapshotId: this.id('snap'),
        volumeId,
        state: 'pending',
        startTime: this.clock.now(),
        tags: { ...tags },
      };
      this.snapshots.set(s.snapshotId, s);
      return { ...s };
    },
    describeSnapshots: async (filter) => {
      this.call('describeSnapshots');
      return [...this.snapshots.values()]
        .filter((s) => Object.entries(filter).every(([k, v]) => s.tags[k] === v))
        .map((s) => ({ ...s, tags: { ...s.tags } }));
    },
    deleteSnapshot: async (id) => {
      this.call('deleteSnapshot', id);
      this.snapshots.delete(id);
    },
    describeLaunchTemplateVersion: async (ref) => {
      this.call('describeLaunchTemplateVersion');
      const t = ref.id
        ? this.templates.get(ref.id)
        : [...this.templates.values()].find((x) => x.name === ref.name);
      if (!t)
        throw this.err(
          'DescribeLaunchTemplateVersions',
          'InvalidLaunchTemplateId.NotFound',
          `${ref.id ?? ref.name}`,
        );
      return { ...t };
    },
  };

  readonly tagging = {
    findResourceIds: async (type: 'ec2:instance' | 'ec2:volume', key: string): Promise<string[]> => {
      this.call('findResourceIds');
      const pool =
        type === 'ec2:instance'
          ? [...this.instances.values()].filter((i) => i.state !== 'terminated')
          : [...this.volumes.values()];
      return pool
        .filter((r) => r.tags[key] !== undefined)
        .map((r) => ('instanceId' in r ? r.instanceId : r.volumeId));
    },
  };

  readonly queue = {
    receive: async () => [],
    delete: async () => {},
    changeVisibility: async () => {},
    send: async () => 'm-1',
    check: async () => {},
  };

  readonly metrics = {
    record: (d: MetricDatum) => {
      this.metricData.push(d);
    },
    flush: async () => {},
  };
}
