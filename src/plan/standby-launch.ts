import type {
  ImageInfo,
  InstanceStatusInfo,
  InstanceTypeInfo,
  LaunchTemplateVersionInfo,
  NetworkInterfaceSpec,
} from '../ports/ec2.js';

// How a standby is launched from whatever the group's template says, decided before any call (pure):
// which (instance type, template) pairs the group may launch, where the subnet goes, whether the
// template's Spot request must be dropped, and whether hibernation can work.

/** What the reconciler read for a group's standbys (controllers/reconcile/standby-facts.ts). */
export interface StandbyFacts {
  /** The pairs a standby may be launched as: the overrides' types with their own templates. */
  options: StandbyOption[];
  /** Images of the templates and of the standbys; `checkedImages` tells a gone image from an unread one. */
  images: Map<string, ImageInfo>;
  checkedImages: Set<string>;
  instanceTypes: Map<string, InstanceTypeInfo>;
  /** Status checks of the group's running standbys. */
  statuses: Map<string, InstanceStatusInfo>;
  problems: string[];
}

export interface StandbyOption {
  /** Undefined: the template's own InstanceType. */
  instanceType?: string;
  template: LaunchTemplateVersionInfo;
}

/** "You can't hibernate an instance that has more than 150 GB of RAM" (*Hibernation prerequisites*). */
export const HIBERNATION_MAX_MEMORY_MIB = 150 * 1024;

/**
 * Whether an instance of `type` launched from `template` can hibernate, by *Hibernation prerequisites
 * for Amazon EC2*: the template enables it, the root volume (the image's RootDeviceName, overridden by a
 * template mapping at that device) is encrypted EBS at least as large as RAM, and the type supports
 * hibernation (DescribeInstanceTypes HibernationSupported) with at most 150 GB of RAM.
 */
export function hibernationVerdict(
  template: LaunchTemplateVersionInfo,
  image: ImageInfo | undefined,
  type: InstanceTypeInfo | undefined,
): { ok: true } | { ok: false; why: string } {
  const no = (why: string) => ({ ok: false as const, why });
  if (!(template.hibernationConfigured ?? template.hibernationReady))
    return no('the launch template does not configure hibernation');
  if (!image) return no(`its image ${template.imageId ?? '(none in the template)'} could not be read`);
  if (!type) return no('its instance type could not be read');
  if (!type.hibernationSupported) return no(`${type.instanceType} does not support hibernation`);
  if (type.memoryMiB > HIBERNATION_MAX_MEMORY_MIB)
    return no(`${type.instanceType} has ${Math.round(type.memoryMiB / 1024)} GiB of RAM (at most 150 GiB)`);
  const rootName = image.rootDeviceName;
  if (!rootName || (image.rootDeviceType && image.rootDeviceType !== 'ebs'))
    return no(`image ${image.imageId} has no EBS root device`);
  const fromImage = image.blockDevices.find((b) => b.deviceName === rootName);
  const fromTemplate = template.blockDevices?.find((b) => b.deviceName === rootName);
  const encrypted = fromTemplate?.encrypted ?? fromImage?.encrypted ?? false;
  const sizeGiB = fromTemplate?.sizeGiB ?? fromImage?.sizeGiB ?? 0;
  if (!encrypted) return no(`the root volume (${rootName}) is not encrypted`);
  if (sizeGiB * 1024 < type.memoryMiB)
    return no(
      `the root volume (${rootName}, ${sizeGiB} GiB) is smaller than the RAM of ${type.instanceType} (${Math.round(type.memoryMiB / 1024)} GiB)`,
    );
  return { ok: true };
}

/**
 * Where the subnet goes and what the template's market options need. RunInstances API reference:
 * "If you specify a network interface, you must specify any security groups and subnets as part of the
 * network interface" — a template with NetworkInterfaces gets the subnet inside the first one (the
 * template's own interfaces are copied, only the subnet changes). A template that asks for Spot is
 * launched from its data, without it (RunInstances has no On-Demand market type to override with).
 */
export function launchPlacement(
  template: LaunchTemplateVersionInfo,
  subnetId: string | undefined,
): { subnetId?: string; networkInterfaces?: NetworkInterfaceSpec[]; dropTemplateMarket?: true } {
  const out: { subnetId?: string; networkInterfaces?: NetworkInterfaceSpec[]; dropTemplateMarket?: true } =
    {};
  if (template.spotMarket) out.dropTemplateMarket = true;
  const nis = template.networkInterfaces;
  if (nis?.length) {
    if (subnetId) {
      const primary = nis.find((n) => (n.DeviceIndex ?? 0) === 0) ?? nis[0]!;
      out.networkInterfaces = nis.map((n) =>
        n === primary ? { ...stripped(n), DeviceIndex: n.DeviceIndex ?? 0, SubnetId: subnetId } : { ...n },
      );
    }
  } else if (subnetId) out.subnetId = subnetId;
  return out;
}

/** A fixed interface id or address cannot be used twice: those stay with the template's own instances. */
function stripped(n: NetworkInterfaceSpec): NetworkInterfaceSpec {
  const { NetworkInterfaceId: _id, PrivateIpAddress: _ip, PrivateIpAddresses: _ips, ...rest } = n;
  return rest;
}

/** Why a running standby is not to be stopped yet (undefined: stop it). */
export function notReadyReason(
  tags: Record<string, string>,
  status: InstanceStatusInfo | undefined,
  readinessTag: string | undefined,
): string | undefined {
  if (readinessTag)
    return tags[readinessTag] !== undefined ? undefined : `no ${readinessTag} tag yet (bootstrap running)`;
  if (!status) return 'status checks not reported yet';
  if (status.instanceStatus === 'ok' && status.systemStatus === 'ok') return undefined;
  return `status checks ${status.instanceStatus}/${status.systemStatus}`;
}
