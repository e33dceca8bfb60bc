import {
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type LaunchTemplateBlockDeviceMapping,
  type LaunchTemplateVersion,
  type RequestLaunchTemplateData,
  type ResponseLaunchTemplateData,
  type RunInstancesCommandInput,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { CloudError } from '../domain/errors.js';
import type { LaunchTemplateRef } from '../domain/types.js';
import type { BlockDeviceInfo, LaunchTemplateVersionInfo, NetworkInterfaceSpec } from '../ports/ec2.js';
import { awsCall } from './call.js';

// Reads one launch template version: what standbys launched from it need to know (market options,
// network interfaces, attribute-based selection, hibernation), and its data for a launch that cannot
// go through the template (a Spot template launched On-Demand, see templateDataLaunch).

/** Device names AMIs use for their root volume; only a guess: DescribeImages' RootDeviceName is the truth. */
const ROOT_DEVICES = new Set(['/dev/xvda', '/dev/sda1', '/dev/sda', '/dev/nvme0n1']);

function rootMapping(
  mappings: LaunchTemplateBlockDeviceMapping[],
): LaunchTemplateBlockDeviceMapping | undefined {
  return mappings.find((m) => m.Ebs && m.DeviceName && ROOT_DEVICES.has(m.DeviceName));
}

function describeRef(ref: LaunchTemplateRef): string {
  return `launch template ${ref.name ?? ref.id} version ${ref.version ?? '$Default'}`;
}

function pick(versions: LaunchTemplateVersion[], wanted: string): LaunchTemplateVersion | undefined {
  if (wanted === '$Default') return versions.find((v) => v.DefaultVersion);
  if (wanted === '$Latest')
    return versions.reduce<LaunchTemplateVersion | undefined>(
      (a, v) => ((v.VersionNumber ?? 0) > (a?.VersionNumber ?? -1) ? v : a),
      undefined,
    );
  return versions.find((v) => String(v.VersionNumber) === wanted);
}

const NUMERIC = /^\d+$/;

/**
 * Launch template versions cannot change once created ("Launch templates are immutable. To modify a
 * launch template, you must create a new version", *Restrictions for Amazon EC2 launch templates*), so a
 * read of template id + version number is cached for good; `$Latest`/`$Default` are read every time
 * (they move), and fill the cache for the number they resolve to.
 */
export class LaunchTemplateReader {
  private readonly cache = new Map<string, Promise<LaunchTemplateVersion[]>>();

  constructor(private readonly client: EC2Client) {}

  /** How many versions are cached (for tests). */
  get cached(): number {
    return this.cache.size;
  }

  async describe(ref: LaunchTemplateRef): Promise<LaunchTemplateVersionInfo> {
    const { found, latest } = await this.read(ref);
    return toInfo(found, latest, ref);
  }

  /** The version's data, as RunInstances would get it from the template. */
  async data(ref: LaunchTemplateRef): Promise<ResponseLaunchTemplateData> {
    return (await this.read(ref)).found.LaunchTemplateData ?? {};
  }

  private async read(
    ref: LaunchTemplateRef,
  ): Promise<{ found: LaunchTemplateVersion; latest?: LaunchTemplateVersion }> {
    const wanted = ref.version ?? '$Default';
    const key = ref.id && NUMERIC.test(wanted) ? `${ref.id}:${wanted}` : undefined;
    const cached = key ? this.cache.get(key) : undefined;
    const context = `reading ${describeRef(ref)}`;
    let all: LaunchTemplateVersion[];
    if (cached) all = await cached;
    else {
      // Asking for $Latest in the same call tells whether the wanted version is the newest.
      const versions = wanted === '$Latest' ? ['$Latest'] : [wanted, '$Latest'];
      const pending = awsCall('ec2', 'DescribeLaunchTemplateVersions', context, () =>
        this.client.send(
          new DescribeLaunchTemplateVersionsCommand({
            ...(ref.id ? { LaunchTemplateId: ref.id } : { LaunchTemplateName: ref.name }),
            Versions: versions,
          }),
        ),
      ).then((out) => out.LaunchTemplateVersions ?? []);
      if (key) this.cache.set(key, pending);
      try {
        all = await pending;
      } catch (err) {
        if (key) this.cache.delete(key);
        throw err;
      }
    }
    const found = pick(all, wanted);
    if (!found) {
      if (key) this.cache.delete(key);
      throw new CloudError(
        'DescribeLaunchTemplateVersions',
        context,
        'InvalidLaunchTemplateVersion.NotFound',
        false,
        new Error(`${describeRef(ref)} not found`),
      );
    }
    if (!cached && found.LaunchTemplateId && found.VersionNumber !== undefined) {
      const own = `${found.LaunchTemplateId}:${found.VersionNumber}`;
      if (!this.cache.has(own)) this.cache.set(own, Promise.resolve([found]));
    }
    // A cached read cannot tell whether a newer version exists since; isLatest is then left unknown.
    return { found, latest: cached ? undefined : pick(all, '$Latest') };
  }
}

function blockDevices(mappings: LaunchTemplateBlockDeviceMapping[]): BlockDeviceInfo[] {
  return mappings
    .filter((m) => m.DeviceName && m.Ebs)
    .map((m) => ({
      deviceName: m.DeviceName!,
      ...(m.Ebs?.Encrypted !== undefined ? { encrypted: m.Ebs.Encrypted } : {}),
      ...(m.Ebs?.VolumeSize !== undefined ? { sizeGiB: m.Ebs.VolumeSize } : {}),
      ...(m.Ebs?.SnapshotId ? { snapshotId: m.Ebs.SnapshotId } : {}),
    }));
}

function toInfo(
  found: LaunchTemplateVersion,
  latest: LaunchTemplateVersion | undefined,
  ref: LaunchTemplateRef,
): LaunchTemplateVersionInfo {
  const data = found.LaunchTemplateData ?? {};
  const root = rootMapping(data.BlockDeviceMappings ?? []);
  const nis = (data.NetworkInterfaces ?? []) as NetworkInterfaceSpec[];
  return {
    id: found.LaunchTemplateId ?? ref.id ?? '',
    name: found.LaunchTemplateName ?? ref.name,
    version: found.VersionNumber ?? 0,
    isDefault: found.DefaultVersion ?? false,
    isLatest: latest ? found.VersionNumber === latest.VersionNumber : false,
    // A first guess for plan; plan/hibernation.ts decides with the image and the instance type.
    hibernationReady: Boolean(data.HibernationOptions?.Configured && root?.Ebs?.Encrypted),
    hibernationConfigured: Boolean(data.HibernationOptions?.Configured),
    blockDevices: blockDevices(data.BlockDeviceMappings ?? []),
    ...(data.ImageId ? { imageId: data.ImageId } : {}),
    ...(data.InstanceType ? { instanceType: data.InstanceType } : {}),
    ...(data.InstanceRequirements
      ? { instanceRequirements: data.InstanceRequirements as Record<string, unknown> }
      : {}),
    spotMarket: data.InstanceMarketOptions?.MarketType === 'spot',
    ...(nis.length > 0 ? { networkInterfaces: nis } : {}),
  };
}

/**
 * RunInstances parameters equal to launching from a template version's data, without the template.
 * Used for a template whose InstanceMarketOptions asks for Spot when the launch must be On-Demand:
 * RunInstances' InstanceMarketOptions has MarketType spot | capacity-block |
 * interruptible-capacity-reservation only (InstanceMarketOptionsRequest API reference), so a template's
 * Spot request cannot be overridden to On-Demand; the template's other settings are sent as the
 * request's own. Dropped: InstanceMarketOptions (the point), InstanceRequirements (RunInstances takes an
 * InstanceType only), Elastic GPU / Elastic Inference (retired services), MetadataOptions.State (a
 * response field).
 */
export function templateDataLaunch(data: ResponseLaunchTemplateData): Partial<RunInstancesCommandInput> {
  const {
    InstanceMarketOptions: _market,
    InstanceRequirements: _requirements,
    ElasticGpuSpecifications: _gpu,
    ElasticInferenceAccelerators: _inference,
    MetadataOptions,
    TagSpecifications,
    ...rest
  } = data;
  const out = { ...(rest as RequestLaunchTemplateData) } as Partial<RunInstancesCommandInput>;
  if (MetadataOptions) {
    const { State: _state, ...options } = MetadataOptions;
    out.MetadataOptions = options as RunInstancesCommandInput['MetadataOptions'];
  }
  if (TagSpecifications?.length) out.TagSpecifications = TagSpecifications as TagSpecification[];
  return out;
}

/** Adds `extra` (our tag specifications) to a template's, merging per resource type. */
export function mergeTagSpecifications(
  base: TagSpecification[] | undefined,
  extra: TagSpecification[] | undefined,
): TagSpecification[] | undefined {
  if (!base?.length) return extra;
  if (!extra?.length) return base;
  const byType = new Map<string, TagSpecification>();
  for (const spec of [...base, ...extra]) {
    const type = spec.ResourceType ?? 'instance';
    const prev = byType.get(type);
    const tags = new Map((prev?.Tags ?? []).map((t) => [t.Key, t]));
    for (const t of spec.Tags ?? []) tags.set(t.Key, t);
    byType.set(type, { ResourceType: spec.ResourceType, Tags: [...tags.values()] });
  }
  return [...byType.values()];
}
