import type { InstanceRequirementsQuery, InstanceTypeInfo } from '../ports/ec2.js';
import { awsError } from './api.js';

// What EC2 knows about instance types and images, as far as standbys need it: memory and hibernation
// support (DescribeInstanceTypes), attribute-based selection (GetInstanceTypesFromInstanceRequirements),
// and the root device of an image (DescribeImages). Figures from the instance type pages of the EC2
// documentation; a type not listed here is unknown to the simulated region (InvalidInstanceType).

export interface SimInstanceType extends InstanceTypeInfo {
  burstable?: boolean;
}

const GiB = 1024;
const t = (
  instanceType: string,
  vcpus: number,
  memoryGiB: number,
  arch: 'x86_64' | 'arm64',
  hibernationSupported: boolean,
  burstable = false,
): SimInstanceType => ({
  instanceType,
  vcpus,
  memoryMiB: memoryGiB * GiB,
  architectures: [arch],
  hibernationSupported,
  ...(burstable ? { burstable } : {}),
});

export const INSTANCE_TYPES: ReadonlyMap<string, SimInstanceType> = new Map(
  [
    t('t3.micro', 2, 1, 'x86_64', true, true),
    t('t3.small', 2, 2, 'x86_64', true, true),
    t('t3.medium', 2, 4, 'x86_64', true, true),
    t('t3.large', 2, 8, 'x86_64', true, true),
    t('m5.large', 2, 8, 'x86_64', true),
    t('m5.xlarge', 4, 16, 'x86_64', true),
    t('m5.2xlarge', 8, 32, 'x86_64', true),
    t('m5a.large', 2, 8, 'x86_64', true),
    t('m5a.xlarge', 4, 16, 'x86_64', true),
    t('m6i.large', 2, 8, 'x86_64', true),
    t('m6i.xlarge', 4, 16, 'x86_64', true),
    t('c5.large', 2, 4, 'x86_64', true),
    t('c5.xlarge', 4, 8, 'x86_64', true),
    t('c5.2xlarge', 8, 16, 'x86_64', true),
    t('c5.4xlarge', 16, 32, 'x86_64', true),
    t('c5a.xlarge', 4, 8, 'x86_64', true),
    t('r5.large', 2, 16, 'x86_64', true),
    t('r5.xlarge', 4, 32, 'x86_64', true),
    t('r5.8xlarge', 32, 256, 'x86_64', true),
    t('r5a.large', 2, 16, 'x86_64', true),
    t('m6g.large', 2, 8, 'arm64', true),
    t('m6g.xlarge', 4, 16, 'arm64', true),
    t('c6g.large', 2, 4, 'arm64', true),
    t('g5.xlarge', 4, 16, 'x86_64', false),
  ].map((x) => [x.instanceType, x]),
);

/** "You can't hibernate an instance that has more than 150 GB of RAM" (*Hibernation prerequisites*). */
export const HIBERNATION_MAX_MEMORY_MIB = 150 * GiB;

export interface SimImage {
  imageId: string;
  state: 'available' | 'deregistered';
  rootDeviceName: string;
  rootEncrypted: boolean;
  rootSizeGiB: number;
  architecture: 'x86_64' | 'arm64';
  /** When it was deregistered (ms); DescribeImages lists it for a while, then answers NotFound. */
  deregisteredAt?: number;
}

/** How long DescribeImages still lists a deregistered image ("for an unspecified interval"): one hour here. */
export const DEREGISTERED_VISIBLE_MS = 3_600_000;

/**
 * Why EC2 refuses to launch `type` from `image` with hibernation enabled, or undefined when it can.
 * *Hibernation prerequisites for Amazon EC2*: the root volume is an encrypted EBS volume large enough
 * for the RAM contents, the instance type supports hibernation, and RAM is at most 150 GB.
 */
export function hibernationRefusal(image: SimImage, type: SimInstanceType | undefined): string | undefined {
  if (!type) return 'the instance type is unknown';
  if (!type.hibernationSupported) return `${type.instanceType} does not support hibernation`;
  if (type.memoryMiB > HIBERNATION_MAX_MEMORY_MIB)
    return `${type.instanceType} has ${type.memoryMiB / GiB} GiB of RAM (at most 150 GiB can hibernate)`;
  if (!image.rootEncrypted) return `the root volume of ${image.imageId} is not encrypted`;
  if (image.rootSizeGiB * GiB < type.memoryMiB)
    return `the root volume of ${image.imageId} (${image.rootSizeGiB} GiB) is smaller than the RAM of ${type.instanceType}`;
  return undefined;
}

interface Range {
  Min?: number;
  Max?: number;
}
const inRange = (v: number, r: Range | undefined) =>
  !r || ((r.Min === undefined || v >= r.Min) && (r.Max === undefined || v <= r.Max));
const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

/**
 * GetInstanceTypesFromInstanceRequirements over the catalog. VCpuCount and MemoryMiB are required
 * (InstanceRequirementsRequest API reference); BurstablePerformance defaults to excluded; AllowedInstanceTypes
 * and ExcludedInstanceTypes take `*` wildcards.
 */
export function typesForRequirements(query: InstanceRequirementsQuery): string[] {
  const r = query.instanceRequirements as {
    VCpuCount?: Range;
    MemoryMiB?: Range;
    BurstablePerformance?: string;
    AllowedInstanceTypes?: string[];
    ExcludedInstanceTypes?: string[];
  };
  if (!r.VCpuCount || !r.MemoryMiB)
    throw awsError(
      'MissingParameter',
      'The request must contain the parameter InstanceRequirements.VCpuCount and InstanceRequirements.MemoryMiB',
    );
  const allowed = r.AllowedInstanceTypes?.map(glob);
  const excluded = (r.ExcludedInstanceTypes ?? []).map(glob);
  const burstable = r.BurstablePerformance ?? 'excluded';
  return [...INSTANCE_TYPES.values()]
    .filter(
      (x) =>
        inRange(x.vcpus, r.VCpuCount) &&
        inRange(x.memoryMiB, r.MemoryMiB) &&
        x.architectures.some((a) => query.architectureTypes.includes(a)) &&
        (burstable === 'included' || (burstable === 'required' ? x.burstable : !x.burstable)) &&
        (!allowed || allowed.some((g) => g.test(x.instanceType))) &&
        !excluded.some((g) => g.test(x.instanceType)),
    )
    .map((x) => x.instanceType);
}
