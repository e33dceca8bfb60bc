import type { ResolvedGroup } from '../../src/config/resolved.js';
import { defaultSettings, type GroupSettings } from '../../src/config/schema.js';
import { GROUP_TAG } from '../../src/domain/tags.js';
import type {
  Group,
  Instance,
  MixedInstancesPolicy,
  Observation,
  ScalingActivity,
  Snapshot,
  Volume,
} from '../../src/domain/types.js';
import type { PlanInput } from '../../src/plan/input.js';
import type { LaunchTemplateVersionInfo } from '../../src/ports/ec2.js';

// Factories for planner tests: plain data with sensible defaults; every test states `now` and ages.

export const NOW = new Date('2026-11-22T12:00:00.000Z');
export const GROUP = 'web-asg';

export function minutesAgo(minutes: number, now: Date = NOW): Date {
  return new Date(now.getTime() - minutes * 60_000);
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function settings(overrides: DeepPartial<GroupSettings> = {}): GroupSettings {
  const base = defaultSettings() as unknown as Record<string, Record<string, unknown>>;
  for (const [key, value] of Object.entries(overrides)) {
    base[key] =
      typeof value === 'object' && value !== null ? { ...base[key], ...(value as object) } : (value as never);
  }
  return base as unknown as GroupSettings;
}

let seq = 0;
export function instance(overrides: Partial<Instance> & { ageMinutes?: number } = {}): Instance {
  const { ageMinutes, ...rest } = overrides;
  seq++;
  return {
    instanceId: `i-${String(seq).padStart(6, '0')}`,
    state: 'running',
    market: 'spot',
    instanceType: 'm5.large',
    availabilityZone: 'us-east-1a',
    subnetId: 'subnet-a',
    privateIp: `10.0.0.${seq % 250}`,
    launchTime: minutesAgo(ageMinutes ?? 5),
    tags: { [GROUP_TAG]: GROUP },
    ...rest,
  };
}

export function mixedPolicy(
  overrides: Partial<MixedInstancesPolicy['instancesDistribution']> = {},
): MixedInstancesPolicy {
  return {
    launchTemplate: { id: 'lt-0123', version: '$Latest' },
    overrides: [{ instanceType: 'm5.large' }, { instanceType: 'm5a.large' }, { instanceType: 'm6i.large' }],
    instancesDistribution: {
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: 0,
      spotAllocationStrategy: 'price-capacity-optimized',
      ...overrides,
    },
  };
}

export interface World {
  group?: Partial<Group>;
  /** Members (InService unless `lifecycle` says otherwise). */
  members?: (Instance & { lifecycle?: string })[];
  standbys?: Instance[];
  volumes?: Volume[];
  outsiders?: Instance[];
  settings?: GroupSettings;
  now?: Date;
  activities?: ScalingActivity[];
  snapshots?: Snapshot[];
  launchTemplate?: LaunchTemplateVersionInfo | null;
}

export function template(overrides: Partial<LaunchTemplateVersionInfo> = {}): LaunchTemplateVersionInfo {
  return {
    id: 'lt-0123',
    name: 'web',
    version: 4,
    isDefault: true,
    isLatest: true,
    hibernationReady: false,
    ...overrides,
  };
}

export function planInput(world: World = {}): PlanInput {
  const members = world.members ?? [];
  const group: Group = {
    name: GROUP,
    desired: members.length,
    min: 0,
    max: Math.max(members.length, 1) + 4,
    mixedInstancesPolicy: mixedPolicy(),
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    subnetIds: ['subnet-a', 'subnet-b'],
    tags: [{ key: GROUP_TAG, value: GROUP, propagateAtLaunch: true }],
    members: members.map((m) => ({
      instanceId: m.instanceId,
      availabilityZone: m.availabilityZone,
      lifecycleState: m.lifecycle ?? 'InService',
      healthStatus: 'Healthy',
      instanceType: m.instanceType,
    })),
    ...world.group,
  };
  const instances = new Map<string, Instance>();
  for (const m of members) {
    const { lifecycle: _l, ...i } = m;
    instances.set(i.instanceId, i);
  }
  for (const s of world.standbys ?? []) instances.set(s.instanceId, s);
  const observation: Observation = {
    region: 'us-east-1',
    observedAt: world.now ?? NOW,
    groups: [group],
    instances,
    standbys: world.standbys ?? [],
    volumes: world.volumes ?? [],
  };
  const resolved: ResolvedGroup = {
    group,
    managed: true,
    problems: [],
    settings: world.settings ?? settings(),
    provenance: {},
  };
  const input: PlanInput = { resolved, observation, now: world.now ?? NOW };
  if (world.activities) input.activities = world.activities;
  if (world.snapshots) input.snapshots = world.snapshots;
  if (world.outsiders) input.outsiders = world.outsiders;
  if (world.launchTemplate !== null) input.launchTemplate = world.launchTemplate ?? template();
  return input;
}

export function volume(overrides: Partial<Volume> = {}): Volume {
  seq++;
  return {
    volumeId: `vol-${String(seq).padStart(6, '0')}`,
    availabilityZone: 'us-east-1a',
    state: 'available',
    sizeGiB: 20,
    volumeType: 'gp3',
    attachments: [],
    tags: { [GROUP_TAG]: GROUP },
    ...overrides,
  };
}

export function snapshot(volumeId: string, ageMinutes: number, overrides: Partial<Snapshot> = {}): Snapshot {
  seq++;
  return {
    snapshotId: `snap-${String(seq).padStart(6, '0')}`,
    volumeId,
    state: 'completed',
    startTime: minutesAgo(ageMinutes),
    tags: { [GROUP_TAG]: GROUP, 'spotmax:snapshot-of': volumeId },
    ...overrides,
  };
}

export function activity(
  statusCode: string,
  ageSeconds: number,
  message = '',
  description = 'Launching a new EC2 instance',
): ScalingActivity {
  seq++;
  return {
    activityId: `act-${seq}`,
    groupName: GROUP,
    statusCode,
    statusMessage: message,
    description,
    startTime: new Date(NOW.getTime() - ageSeconds * 1000),
  };
}
