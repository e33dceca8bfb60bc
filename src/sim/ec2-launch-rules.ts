import type { Market } from '../domain/types.js';
import type { ImageInfo, InstanceStatusInfo, RunFromTemplateRequest } from '../ports/ec2.js';
import { awsError } from './api.js';
import { DEREGISTERED_VISIBLE_MS, hibernationRefusal, INSTANCE_TYPES, type SimImage } from './ec2-catalog.js';
import type { Ec2State, SimInstance, TemplateVersion } from './ec2-state.js';

// RunInstances' rules for a launch from a template, checked before anything is created, each as the
// AWS document states it, so a spotmax that gets them wrong fails on the simulated region as on AWS.

export interface LaunchPlan {
  az: string;
  instanceType?: string;
  market: Market;
}

export function checkTemplateLaunch(
  state: Ec2State,
  req: RunFromTemplateRequest,
  templateName: string,
  version: TemplateVersion,
): LaunchPlan {
  // RunInstances API reference, SubnetId / SecurityGroupIds: "If you specify a network interface, you
  // must specify any security groups and subnets as part of the network interface". A template's
  // interfaces count: EC2 answers InvalidParameterCombination.
  if (req.subnetId && (req.networkInterfaces?.length || version.networkInterfaces?.length)) {
    throw awsError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID may not be specified on the same request',
    );
  }
  const subnet =
    req.networkInterfaces?.find((n) => (n.DeviceIndex ?? 0) === 0)?.SubnetId ??
    req.subnetId ??
    version.networkInterfaces?.find((n) => (n.DeviceIndex ?? 0) === 0)?.SubnetId;
  const az = req.availabilityZone ?? (subnet ? state.subnets.get(subnet) : undefined);
  if (!az)
    throw awsError(
      'InvalidParameterValue',
      'RunInstances needs an Availability Zone or a known subnet in the simulated region',
    );
  // RunInstances takes an InstanceType; a template's InstanceRequirements are for fleets and groups.
  if (version.instanceRequirements && !req.instanceType) {
    throw awsError(
      'InvalidParameterValue',
      `Launch template ${templateName} specifies InstanceRequirements: RunInstances needs an InstanceType`,
    );
  }
  const image = version.imageId ? state.images.get(version.imageId) : undefined;
  if (version.imageId && image?.state !== 'available') {
    throw awsError('InvalidAMIID.NotFound', `The image id '[${version.imageId}]' does not exist`);
  }
  const type = req.instanceType ?? version.instanceType;
  if (req.hibernate && image) {
    const why = hibernationRefusal(image, INSTANCE_TYPES.get(type));
    if (why) {
      throw awsError(
        'UnsupportedHibernationConfiguration',
        `Hibernation cannot be enabled for this launch: ${why} (see Hibernation prerequisites)`,
      );
    }
  }
  // InstanceMarketOptionsRequest has no On-Demand market type: a Spot template launched without the
  // template (dropTemplateMarket) is the only way to get On-Demand from it.
  const market: Market =
    req.market === 'spot' || (version.spotMarket && !req.dropTemplateMarket) ? 'spot' : 'on-demand';
  return { az, ...(req.instanceType ? { instanceType: req.instanceType } : {}), market };
}

/** DescribeImages: a deregistered image is listed for a while (state deregistered), then not at all. */
export function describeImages(state: Ec2State, ids: string[], now: number): ImageInfo[] {
  const out: ImageInfo[] = [];
  for (const id of ids) {
    const img: SimImage | undefined = state.images.get(id);
    if (!img) continue;
    if (img.deregisteredAt !== undefined && now - img.deregisteredAt > DEREGISTERED_VISIBLE_MS) continue;
    out.push({
      imageId: img.imageId,
      state: img.state,
      rootDeviceName: img.rootDeviceName,
      rootDeviceType: 'ebs',
      architecture: img.architecture,
      blockDevices: [
        { deviceName: img.rootDeviceName, encrypted: img.rootEncrypted, sizeGiB: img.rootSizeGiB },
      ],
    });
  }
  return out;
}

/** DescribeInstanceStatus lists running instances only (IncludeAllInstances false). */
export function instanceStatus(
  inst: SimInstance,
  now: number,
  checksSeconds: number,
): InstanceStatusInfo | undefined {
  if (inst.state !== 'running') return undefined;
  const ok = now - (inst.runningSince ?? inst.launchTime) >= checksSeconds * 1000;
  const status = ok ? 'ok' : 'initializing';
  return { instanceId: inst.instanceId, instanceStatus: status, systemStatus: status };
}
