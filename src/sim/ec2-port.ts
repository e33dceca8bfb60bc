import type { Instance, LaunchTemplateRef, Snapshot, Tags, Volume } from '../domain/types.js';
import type {
  Ec2Port,
  ImageInfo,
  InstanceRequirementsQuery,
  InstanceStatusInfo,
  InstanceTypeInfo,
  LaunchTemplateVersionInfo,
  RunFromTemplateRequest,
  TagValues,
} from '../ports/ec2.js';
import { awsError, type SimApi } from './api.js';
import { INSTANCE_TYPES, typesForRequirements } from './ec2-catalog.js';
import * as rules from './ec2-launch-rules.js';
import { checkTemplateLaunch } from './ec2-launch-rules.js';
import type { Ec2State, SimInstance } from './ec2-state.js';
import { deepFreeze } from './freeze.js';
import { checkDeletable, checkTagCount, checkTags } from './tag-rules.js';
import type { VolumeState } from './volumes.js';

const DESCRIBE_PAGE = 1000;

export type CreateVolumeRequest = Parameters<Ec2Port['createVolume']>[0];

/** The instance as DescribeInstances reports it; frozen and reused until the instance changes. */
export function toInstance(i: SimInstance): Instance {
  i.snapshot ??= deepFreeze(buildInstance(i));
  return i.snapshot;
}

/**
 * A copy built key by key, not by spread: V8 gives frozen copies made by spread at different times maps
 * it cannot reuse, and every lookup of a tag an instance lacks (most of the planners' checks) then misses
 * the inline cache — about 4 µs instead of 0.1. A full pass over 50,000 instances spent some 250 ms of
 * its 600 there (bench/reconcile.ts, issue 16): a cost of the simulator, not of spotmax.
 */
function copyTags(tags: Tags): Tags {
  const out: Tags = {};
  for (const key in tags) out[key] = tags[key]!;
  return out;
}

/** `tag:<key>` filters, each matched by one of its values (literal: the AWS adapter escapes wildcards). */
function tagsMatch(tags: Tags, where: TagValues | undefined): boolean {
  if (!where) return true;
  for (const [key, values] of Object.entries(where)) {
    const value = tags[key];
    if (value === undefined || !values.includes(value)) return false;
  }
  return true;
}

function buildInstance(i: SimInstance): Instance {
  return {
    instanceId: i.instanceId,
    state: i.state,
    market: i.market,
    instanceType: i.instanceType,
    availabilityZone: i.availabilityZone,
    subnetId: i.subnetId,
    privateIp: i.privateIp,
    privateDnsName: `ip-${i.privateIp.replaceAll('.', '-')}.ec2.internal`,
    launchTime: new Date(i.launchTime),
    tags: copyTags(i.tags),
    launchTemplate: i.launchTemplate ? { ...i.launchTemplate } : undefined,
    hibernationConfigured: i.hibernationConfigured,
    ...(i.imageId ? { imageId: i.imageId } : {}),
    // Left out when none, so the 50,000-instance scale scenarios carry no empty arrays.
    ...(i.blockDevices?.length ? { blockDevices: i.blockDevices.map((b) => ({ ...b })) } : {}),
  };
}

/** The EC2 port of the simulated region. Validation happens before any change, so a refused call changes nothing. */
export class SimEc2 implements Ec2Port {
  private readonly tokens = new Map<string, string[]>();

  constructor(
    private readonly state: Ec2State,
    private readonly volumes: VolumeState,
    private readonly api: SimApi,
  ) {}

  async describeInstances(instanceIds: string[]): Promise<Instance[]> {
    const out: Instance[] = [];
    for (let p = 0; p < instanceIds.length; p += DESCRIBE_PAGE) {
      const ids = instanceIds.slice(p, p + DESCRIBE_PAGE);
      // EC2 refuses the whole request when one id is unknown (InvalidInstanceID.NotFound), naming every
      // unknown id of it (errors.ts notFoundInstanceIds).
      out.push(
        ...(await this.api.call('ec2', 'DescribeInstances', 'describing instances', () => {
          const unknown = ids.filter((id) => !this.state.sees(id));
          if (unknown.length === 1)
            throw awsError('InvalidInstanceID.NotFound', `The instance ID '${unknown[0]}' does not exist`);
          if (unknown.length > 1)
            throw awsError(
              'InvalidInstanceID.NotFound',
              `The instance IDs '${unknown.join(', ')}' do not exist`,
            );
          return ids.map((id) => toInstance(this.state.mustSee(id)));
        })),
      );
    }
    return out;
  }

  createTags(resourceIds: string[], tags: Tags): Promise<void> {
    return this.api.call('ec2', 'CreateTags', `tagging ${resourceIds.join(', ')}`, () => {
      this.mustAllExist(resourceIds);
      checkTags('ec2', tags);
      for (const id of resourceIds)
        checkTagCount('ec2', Object.keys(this.tagsOf(id) ?? {}), Object.keys(tags));
      for (const id of resourceIds) if (!this.volumes.setTags(id, tags)) this.state.setTags(id, tags);
    });
  }

  deleteTags(resourceIds: string[], keys: string[]): Promise<void> {
    return this.api.call('ec2', 'DeleteTags', `removing tags from ${resourceIds.join(', ')}`, () => {
      this.mustAllExist(resourceIds);
      checkDeletable('ec2', keys);
      for (const id of resourceIds) if (!this.volumes.removeTags(id, keys)) this.state.removeTags(id, keys);
    });
  }

  private tagsOf(id: string): Tags | undefined {
    return (
      this.volumes.volumes.get(id)?.volume.tags ??
      this.volumes.snapshots.get(id)?.tags ??
      this.state.get(id)?.tags
    );
  }

  private mustAllExist(ids: string[]): void {
    for (const id of ids) {
      if (id.startsWith('vol-')) this.volumes.mustGet(id);
      else if (id.startsWith('snap-')) {
        if (!this.volumes.snapshots.has(id))
          throw awsError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
      } else this.state.mustSee(id);
    }
  }

  runInstances(req: RunFromTemplateRequest): Promise<Instance[]> {
    return this.api.call(
      'ec2',
      'RunInstances',
      `launching from ${req.launchTemplate.name ?? req.launchTemplate.id}`,
      () => {
        if (req.clientToken) {
          const earlier = this.tokens.get(req.clientToken);
          if (earlier) return earlier.map((id) => toInstance(this.state.mustGet(id)));
        }
        const { template, version } = this.state.resolveTemplate(req.launchTemplate);
        const { az, market } = checkTemplateLaunch(this.state, req, template.name, version);
        if (req.hibernate && !version.hibernation) {
          throw awsError(
            'UnsupportedHibernationConfiguration',
            `Launch template ${template.name} does not configure hibernation.`,
          );
        }
        const launched: SimInstance[] = [];
        const count = req.count ?? 1;
        for (let i = 0; i < count; i++) {
          launched.push(
            this.state.launch({
              template,
              version,
              instanceType: req.instanceType,
              az,
              market,
              hibernate: req.hibernate,
              tags: req.tags,
            }),
          );
        }
        if (req.clientToken)
          this.tokens.set(
            req.clientToken,
            launched.map((l) => l.instanceId),
          );
        return launched.map(toInstance);
      },
    );
  }

  startInstances(instanceIds: string[]): Promise<void> {
    return this.api.call('ec2', 'StartInstances', `starting ${instanceIds.join(', ')}`, () => {
      // Every instance is checked before any starts: a refused call changes nothing.
      const insts = instanceIds.map((id) => this.state.mustGet(id));
      for (const i of insts) this.state.checkStart(i);
      for (const i of insts) this.state.start(i);
    });
  }

  stopInstances(instanceIds: string[], hibernate: boolean): Promise<void> {
    return this.api.call('ec2', 'StopInstances', `stopping ${instanceIds.join(', ')}`, () => {
      const insts = instanceIds.map((id) => this.state.mustGet(id));
      for (const i of insts) this.state.checkStop(i, hibernate);
      for (const i of insts) this.state.stop(i, hibernate);
    });
  }

  terminateInstances(instanceIds: string[]): Promise<void> {
    return this.api.call('ec2', 'TerminateInstances', `terminating ${instanceIds.join(', ')}`, () => {
      const insts = instanceIds.map((id) => this.state.mustSee(id));
      for (const i of insts) this.state.terminate(i);
    });
  }

  describeVolumes(volumeIds: string[]): Promise<Volume[]> {
    return this.api.call('ec2', 'DescribeVolumes', 'describing volumes', () =>
      this.volumes.describe(volumeIds),
    );
  }

  attachVolume(volumeId: string, instanceId: string, device: string): Promise<void> {
    return this.api.call('ec2', 'AttachVolume', `attaching ${volumeId} to ${instanceId} as ${device}`, () =>
      this.volumes.attach(volumeId, instanceId, device),
    );
  }

  detachVolume(volumeId: string, instanceId: string): Promise<void> {
    return this.api.call('ec2', 'DetachVolume', `detaching ${volumeId} from ${instanceId}`, () =>
      this.volumes.detach(volumeId, instanceId),
    );
  }

  createVolume(req: CreateVolumeRequest): Promise<Volume> {
    return this.api.call('ec2', 'CreateVolume', `creating a volume in ${req.availabilityZone}`, () =>
      this.volumes.create(req),
    );
  }

  setDeleteOnTermination(instanceId: string, device: string, deleteOnTermination: boolean): Promise<void> {
    return this.api.call(
      'ec2',
      'ModifyInstanceAttribute',
      `setting DeleteOnTermination=${deleteOnTermination} for ${device} of ${instanceId}`,
      () => this.volumes.setDeleteOnTermination(this.state.mustSee(instanceId), device, deleteOnTermination),
    );
  }

  createSnapshot(volumeId: string, tags: Tags): Promise<Snapshot> {
    return this.api.call('ec2', 'CreateSnapshot', `snapshotting ${volumeId}`, () =>
      this.volumes.snapshot(volumeId, tags),
    );
  }

  describeSnapshots(filterTags: Tags): Promise<Snapshot[]> {
    return this.api.call('ec2', 'DescribeSnapshots', 'describing snapshots', () =>
      this.volumes.describeSnapshots(filterTags),
    );
  }

  deleteSnapshot(snapshotId: string): Promise<void> {
    return this.api.call('ec2', 'DeleteSnapshot', `deleting ${snapshotId}`, () =>
      this.volumes.deleteSnapshot(snapshotId),
    );
  }

  describeLaunchTemplateVersion(ref: LaunchTemplateRef): Promise<LaunchTemplateVersionInfo> {
    return this.api.call(
      'ec2',
      'DescribeLaunchTemplateVersions',
      `reading launch template ${ref.name ?? ref.id}`,
      () => {
        const { template, version } = this.state.resolveTemplate(ref);
        const latest = Math.max(...template.versions.map((v) => v.version));
        return {
          id: template.id,
          name: template.name,
          version: version.version,
          isDefault: version.version === template.defaultVersion,
          isLatest: version.version === latest,
          hibernationReady: version.hibernation,
          hibernationConfigured: version.hibernation,
          ...(version.instanceRequirements
            ? { instanceRequirements: version.instanceRequirements }
            : { instanceType: version.instanceType }),
          ...(version.imageId ? { imageId: version.imageId } : {}),
          spotMarket: version.spotMarket ?? false,
          ...(version.networkInterfaces ? { networkInterfaces: version.networkInterfaces } : {}),
        };
      },
    );
  }

  private now(): number {
    return this.state.nowMs();
  }

  describeImages(imageIds: string[]): Promise<ImageInfo[]> {
    return this.api.call('ec2', 'DescribeImages', `describing images ${imageIds.join(', ')}`, () =>
      rules.describeImages(this.state, imageIds, this.now()),
    );
  }

  describeInstanceTypes(instanceTypes: string[]): Promise<InstanceTypeInfo[]> {
    return this.api.call('ec2', 'DescribeInstanceTypes', `describing ${instanceTypes.join(', ')}`, () =>
      instanceTypes.flatMap((t) => {
        const x = INSTANCE_TYPES.get(t);
        return x
          ? [
              {
                instanceType: x.instanceType,
                memoryMiB: x.memoryMiB,
                vcpus: x.vcpus,
                architectures: [...x.architectures],
                hibernationSupported: x.hibernationSupported,
              },
            ]
          : [];
      }),
    );
  }

  getInstanceTypesFromInstanceRequirements(query: InstanceRequirementsQuery): Promise<string[]> {
    return this.api.call('ec2', 'GetInstanceTypesFromInstanceRequirements', 'listing instance types', () =>
      typesForRequirements(query),
    );
  }

  describeInstanceStatus(instanceIds: string[]): Promise<InstanceStatusInfo[]> {
    return this.api.call('ec2', 'DescribeInstanceStatus', 'reading status checks', () => {
      const checks = this.state.timings.statusChecksSeconds ?? 0;
      return instanceIds.flatMap((id) => {
        const i = this.state.get(id);
        const s = i ? rules.instanceStatus(i, this.now(), checks) : undefined;
        return s ? [s] : [];
      });
    });
  }

  findInstanceIdsByTag(key: string, where?: TagValues, opts?: { terminated?: boolean }): Promise<string[]> {
    return this.api.call('ec2', 'DescribeInstances', `finding instances tagged ${key}`, () =>
      [...(this.state.tagIndex.get(key) ?? [])].filter((id) => {
        const i = this.state.get(id);
        // The tag-key filter is authoritative, but a launch seconds ago may not be listed yet.
        return (
          !!i &&
          (opts?.terminated || i.state !== 'terminated') &&
          (i.visibleAt === undefined || this.now() >= i.visibleAt) &&
          tagsMatch(i.tags, where)
        );
      }),
    );
  }

  findVolumeIdsByTag(key: string, where?: TagValues): Promise<string[]> {
    return this.api.call('ec2', 'DescribeVolumes', `finding volumes tagged ${key}`, () =>
      [...this.volumes.volumes.values()]
        .filter(
          (v) =>
            v.volume.state !== 'deleted' &&
            v.volume.tags[key] !== undefined &&
            tagsMatch(v.volume.tags, where),
        )
        .map((v) => v.volume.volumeId),
    );
  }
}
