import type {
  BlockDevice,
  Instance,
  InstanceState,
  LaunchTemplateRef,
  Market,
  Tags,
} from '../domain/types.js';
import type { NetworkInterfaceSpec } from '../ports/ec2.js';
import { awsError } from './api.js';
import type { SimBus } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { SimImage } from './ec2-catalog.js';
import { type Duration, drawDuration, type Random } from './random.js';

// EC2 instances and launch templates: the state machine pending → running → stopping → stopped →
// pending ..., shutting-down → terminated, with a cold boot distinct from a start and from a resume out
// of hibernation. Terminated instances stay visible for an hour, as in EC2, then are forgotten.

export interface Ec2Timings {
  /** Start of a stopped instance (cold OS boot, disks already there). */
  start: Duration;
  /** Resume out of hibernation: memory restored, applications already warm. */
  resume: Duration;
  stopSeconds: number;
  hibernateSeconds: number;
  shutdownSeconds: number;
  /**
   * "Eventual consistency in the Amazon EC2 API": right after RunInstances, calls naming the new id
   * (DescribeInstances, CreateTags, TerminateInstances) may answer InvalidInstanceID.NotFound for a
   * while. Each launch draws its lag uniformly in [min, max] seconds; 0/0 turns it off.
   */
  visibleLag: { minSeconds: number; maxSeconds: number };
  /**
   * How long after it runs an instance's status checks stay `initializing` before `ok` (EC2 runs them
   * once a minute; the first pass takes a few minutes on real hardware). 0 (default): ok at once.
   */
  statusChecksSeconds?: number;
}

export const DEFAULT_EC2_TIMINGS: Ec2Timings = {
  start: { median: 40, p99: 90 },
  resume: { median: 12, p99: 30 },
  stopSeconds: 30,
  hibernateSeconds: 45,
  shutdownSeconds: 20,
  visibleLag: { minSeconds: 1, maxSeconds: 5 },
};

/** One EBS mapping of a template (beside the root, which the simulation does not model). */
export interface TemplateBlockDevice {
  device: string;
  sizeGiB: number;
  volumeType?: string;
  /** Launch template / RunInstances mappings default to true: the volume goes with the instance. */
  deleteOnTermination?: boolean;
}

export interface TemplateVersion {
  version: number;
  instanceType: string;
  hibernation: boolean;
  /** Data volumes every instance launched from this version gets (sim/volumes.ts creates them). */
  blockDevices?: TemplateBlockDevice[];
  /** RunInstances → running (for an ASG, InService without hooks). */
  boot: Duration;
  /** The AMI; addTemplate gives a version without one a default image (encrypted root when hibernation). */
  imageId?: string;
  /** InstanceMarketOptions asks for Spot: RunInstances without an override launches Spot. */
  spotMarket?: boolean;
  /** NetworkInterfaces: a launch may then not name a top-level subnet (InvalidParameterCombination). */
  networkInterfaces?: NetworkInterfaceSpec[];
  /** Attribute-based selection instead of an instance type (RunInstances must then name one). */
  instanceRequirements?: Record<string, unknown>;
}

export interface SimTemplate {
  id: string;
  name: string;
  defaultVersion: number;
  versions: TemplateVersion[];
}

export interface SimInstance {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  subnetId: string;
  market: Market;
  state: InstanceState;
  launchTime: number;
  tags: Tags;
  launchTemplate?: LaunchTemplateRef;
  hibernationConfigured: boolean;
  hibernated: boolean;
  privateIp: string;
  /** Bumped on every transition, so a timer scheduled for an earlier state does nothing. */
  gen: number;
  /** When billing started (running or pending), undefined while stopped or gone. */
  billingSince?: number;
  /** Set once a Spot reclaim is under way: the deadline. */
  reclaimAt?: number;
  terminatedAt?: number;
  /** Before this (ms) calls naming the id answer InvalidInstanceID.NotFound (eventual consistency). */
  visibleAt?: number;
  /** The last described shape (frozen), dropped on any change. */
  snapshot?: Instance;
  imageId?: string;
  /** When it last became running (ms): status checks pass `timings.statusChecksSeconds` later. */
  runningSince?: number;
  /** Attached EBS volumes (DescribeInstances BlockDeviceMappings), kept by sim/volumes.ts. */
  blockDevices?: BlockDevice[];
}

/** Capacity decisions the Spot market makes for EC2. */
export interface CapacitySource {
  spotAvailable(instanceType: string, az: string): boolean;
  onDemandAvailable(instanceType: string, az: string): boolean;
}

export class Ec2State {
  readonly instances = new Map<string, SimInstance>();
  readonly templates = new Map<string, SimTemplate>();
  readonly images = new Map<string, SimImage>();
  /** tag key → ids of live resources carrying it (instances here; volumes register too). */
  readonly tagIndex = new Map<string, Set<string>>();
  /** subnet id → AZ. */
  readonly subnets = new Map<string, string>();
  private counter = 0;
  private readonly launchCounts = new Map<string, number>();
  capacity: CapacitySource = { spotAvailable: () => true, onDemandAvailable: () => true };
  /** Called whenever an instance stops being billed: seconds and what it was. */
  onBilled: (inst: SimInstance, seconds: number) => void = () => {};

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    private readonly bus: SimBus,
    readonly region: string,
    readonly timings: Ec2Timings = DEFAULT_EC2_TIMINGS,
  ) {}

  addTemplate(t: Omit<SimTemplate, 'id'> & { id?: string }): SimTemplate {
    const id = t.id ?? `lt-${this.hex(`lt:${t.name}`, 17)}`;
    for (const v of t.versions) v.imageId ??= this.defaultImage(v.hibernation).imageId;
    const tpl = { ...t, id };
    this.templates.set(id, tpl);
    return tpl;
  }

  addImage(image: Omit<SimImage, 'imageId' | 'state'> & { imageId?: string }): SimImage {
    const imageId = image.imageId ?? `ami-0${this.hex(`ami:${this.images.size}`, 16)}`;
    const img: SimImage = { state: 'available', ...image, imageId };
    this.images.set(imageId, img);
    return img;
  }

  /** The scenario's `hibernation: true` means a hibernation-ready template: an encrypted root big enough. */
  private defaultImage(hibernation: boolean): SimImage {
    const imageId = hibernation ? 'ami-0000000000000e5c1' : 'ami-0000000000000d3f1';
    return (
      this.images.get(imageId) ??
      this.addImage({
        imageId,
        rootDeviceName: '/dev/xvda',
        rootEncrypted: hibernation,
        rootSizeGiB: hibernation ? 64 : 8,
        architecture: 'x86_64',
      })
    );
  }

  resolveTemplate(ref: LaunchTemplateRef): { template: SimTemplate; version: TemplateVersion } {
    const template = ref.id
      ? this.templates.get(ref.id)
      : [...this.templates.values()].find((t) => t.name === ref.name);
    if (!template) {
      throw ref.id
        ? awsError(
            'InvalidLaunchTemplateId.NotFound',
            `The specified launch template, with template ID ${ref.id}, does not exist.`,
          )
        : awsError(
            'InvalidLaunchTemplateName.NotFoundException',
            `The specified launch template, with template name ${ref.name}, does not exist.`,
          );
    }
    const v = ref.version ?? '$Default';
    const number =
      v === '$Latest'
        ? Math.max(...template.versions.map((x) => x.version))
        : v === '$Default'
          ? template.defaultVersion
          : Number(v);
    const version = template.versions.find((x) => x.version === number);
    if (!version)
      throw awsError(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${v} for ${template.id}.`,
      );
    return { template, version };
  }

  hex(key: string, digits: number): string {
    let s = '';
    for (let i = 0; s.length < digits; i++)
      s += Math.floor(this.random.keyed(key, i) * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return s.slice(0, digits);
  }

  /** The subnet the simulation keeps for `az` (one per AZ). */
  subnet(az: string): string {
    const id = subnetFor(az);
    this.subnets.set(id, az);
    return id;
  }

  /** The region's virtual time, ms. */
  nowMs(): number {
    return this.clock.nowMs();
  }

  get(id: string): SimInstance | undefined {
    return this.instances.get(id);
  }

  /** Throws AWS's not-found error for an id EC2 does not know. */
  mustGet(id: string): SimInstance {
    const i = this.instances.get(id);
    if (!i) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return i;
  }

  /** Whether calls by id find the instance now (known, and past a fresh launch's lag). */
  sees(id: string): boolean {
    const i = this.instances.get(id);
    return i !== undefined && (i.visibleAt === undefined || this.clock.nowMs() >= i.visibleAt);
  }

  /** Like mustGet, for API calls by id: a just-launched instance is not found until its lag is over. */
  mustSee(id: string): SimInstance {
    const i = this.mustGet(id);
    if (i.visibleAt !== undefined && this.clock.nowMs() < i.visibleAt)
      throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return i;
  }

  /** Creates a pending instance; it becomes running after the template's boot time. */
  launch(req: {
    template: SimTemplate;
    version: TemplateVersion;
    instanceType?: string;
    az: string;
    market: Market;
    hibernate?: boolean;
    tags: Tags;
  }): SimInstance {
    const type = req.instanceType ?? req.version.instanceType;
    if (req.market === 'spot' && !this.capacity.spotAvailable(type, req.az)) {
      throw awsError(
        'InsufficientInstanceCapacity',
        `There is no Spot capacity available that matches your request (${type} in ${req.az}).`,
        500,
      );
    }
    if (req.market === 'on-demand' && !this.capacity.onDemandAvailable(type, req.az)) {
      throw awsError(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${req.az}).`,
        500,
      );
    }
    const n = ++this.counter;
    const now = this.clock.nowMs();
    const inst: SimInstance = {
      instanceId: `i-0${this.hex(`i:${n}`, 16)}`,
      instanceType: type,
      availabilityZone: req.az,
      subnetId: this.subnet(req.az),
      market: req.market,
      state: 'pending',
      launchTime: now,
      tags: {},
      launchTemplate: { id: req.template.id, name: req.template.name, version: String(req.version.version) },
      hibernationConfigured: Boolean(req.hibernate && req.version.hibernation),
      imageId: req.version.imageId,
      hibernated: false,
      privateIp: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      gen: 0,
      billingSince: now,
    };
    const lag = this.timings.visibleLag;
    if (lag.maxSeconds > 0) {
      const u = this.random.keyed('visible', inst.instanceId);
      inst.visibleAt = now + (lag.minSeconds + u * (lag.maxSeconds - lag.minSeconds)) * 1000;
    }
    this.instances.set(inst.instanceId, inst);
    this.setTags(inst.instanceId, req.tags);
    this.bus.emit({ type: 'instance-state', instanceId: inst.instanceId, from: 'none', to: 'pending' });
    const k = `${req.template.id}`;
    const ordinal = (this.launchCounts.get(k) ?? 0) + 1;
    this.launchCounts.set(k, ordinal);
    const boot = drawDuration(req.version.boot, this.random.keyed('boot', k, ordinal));
    this.transitionAfter(inst, boot, 'running');
    return inst;
  }

  private transitionAfter(inst: SimInstance, seconds: number, to: InstanceState): void {
    const gen = ++inst.gen;
    this.clock.after(seconds * 1000, () => {
      if (inst.gen === gen) this.setState(inst, to);
    });
  }

  setState(inst: SimInstance, to: InstanceState): void {
    const from = inst.state;
    if (from === to) return;
    inst.gen++;
    inst.state = to;
    inst.snapshot = undefined;
    const now = this.clock.nowMs();
    const billed = to === 'pending' || to === 'running';
    if (!billed && inst.billingSince !== undefined) {
      this.onBilled(inst, (now - inst.billingSince) / 1000);
      inst.billingSince = undefined;
    } else if (billed && inst.billingSince === undefined) {
      inst.billingSince = now;
    }
    if (to === 'running') inst.runningSince = now;
    if (to === 'terminated') {
      inst.terminatedAt = now;
      // Still listed (state terminated) for the hour EC2 shows it, tag filters included; then forgotten.
      this.clock.after(3_600_000, () => {
        for (const key of Object.keys(inst.tags)) this.tagIndex.get(key)?.delete(inst.instanceId);
        this.instances.delete(inst.instanceId);
      });
    }
    this.bus.emit({ type: 'instance-state', instanceId: inst.instanceId, from, to });
  }

  /** Throws what EC2 answers when `inst` cannot be started now; starting a running one is a no-op. */
  checkStart(inst: SimInstance): void {
    if (inst.state === 'pending' || inst.state === 'running') return;
    if (inst.state !== 'stopped') {
      throw awsError(
        'IncorrectInstanceState',
        `The instance '${inst.instanceId}' is not in a state from which it can be started.`,
      );
    }
    if (!this.capacity.onDemandAvailable(inst.instanceType, inst.availabilityZone)) {
      throw awsError(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${inst.instanceType} capacity in ${inst.availabilityZone}.`,
        500,
      );
    }
  }

  start(inst: SimInstance): void {
    this.checkStart(inst);
    if (inst.state === 'pending' || inst.state === 'running') return;
    const wasHibernated = inst.hibernated;
    inst.hibernated = false;
    this.setState(inst, 'pending');
    const d = wasHibernated ? this.timings.resume : this.timings.start;
    this.transitionAfter(
      inst,
      drawDuration(d, this.random.keyed('start', inst.instanceId, inst.gen)),
      'running',
    );
  }

  /** Throws what EC2 answers when `inst` cannot be stopped; stopping a stopped one is a no-op. */
  checkStop(inst: SimInstance, hibernate: boolean): void {
    if (inst.state === 'stopped' || inst.state === 'stopping') return;
    if (inst.market === 'spot') {
      throw awsError(
        'UnsupportedOperation',
        `You can't stop the Spot Instance '${inst.instanceId}' because it is associated with a one-time Spot Instance request.`,
      );
    }
    if (inst.state !== 'running')
      throw awsError(
        'IncorrectInstanceState',
        `The instance '${inst.instanceId}' is not in a state from which it can be stopped.`,
      );
    if (hibernate && !inst.hibernationConfigured) {
      throw awsError(
        'UnsupportedHibernationConfiguration',
        `The instance '${inst.instanceId}' is not enabled for hibernation.`,
      );
    }
  }

  stop(inst: SimInstance, hibernate: boolean): void {
    this.checkStop(inst, hibernate);
    if (inst.state === 'stopped' || inst.state === 'stopping') return;
    this.setState(inst, 'stopping');
    inst.hibernated = hibernate;
    this.transitionAfter(
      inst,
      hibernate ? this.timings.hibernateSeconds : this.timings.stopSeconds,
      'stopped',
    );
  }

  terminate(inst: SimInstance): void {
    if (inst.state === 'terminated' || inst.state === 'shutting-down') return;
    this.setState(inst, 'shutting-down');
    this.transitionAfter(inst, this.timings.shutdownSeconds, 'terminated');
  }

  setTags(id: string, tags: Tags): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.snapshot = undefined;
    for (const [k, v] of Object.entries(tags)) {
      inst.tags[k] = v;
      this.index(k).add(id);
    }
  }

  removeTags(id: string, keys: string[]): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.snapshot = undefined;
    for (const k of keys) {
      delete inst.tags[k];
      this.tagIndex.get(k)?.delete(id);
    }
  }

  index(key: string): Set<string> {
    let s = this.tagIndex.get(key);
    if (!s) {
      s = new Set();
      this.tagIndex.set(key, s);
    }
    return s;
  }
}

export function subnetFor(az: string): string {
  let h = 0;
  for (const c of az) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `subnet-0${h.toString(16).padStart(16, '0').slice(0, 16)}`;
}
