import {
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type LaunchTemplateBlockDeviceMapping,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import { CloudError } from '../domain/errors.js';
import type { LaunchTemplateRef } from '../domain/types.js';
import type { LaunchTemplateVersionInfo } from '../ports/ec2.js';
import { awsCall } from './call.js';

// Reads one launch template version, and whether standbys built from it can hibernate.

/** Device names AMIs use for their root volume; the template does not say which mapping is the root. */
const ROOT_DEVICES = new Set(['/dev/xvda', '/dev/sda1', '/dev/sda', '/dev/nvme0n1']);

function rootMapping(
  mappings: LaunchTemplateBlockDeviceMapping[],
): LaunchTemplateBlockDeviceMapping | undefined {
  const ebs = mappings.filter((m) => m.Ebs);
  return (
    ebs.find((m) => m.DeviceName && ROOT_DEVICES.has(m.DeviceName)) ?? (ebs.length === 1 ? ebs[0] : undefined)
  );
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

export async function describeLaunchTemplateVersion(
  client: EC2Client,
  ref: LaunchTemplateRef,
): Promise<LaunchTemplateVersionInfo> {
  const wanted = ref.version ?? '$Default';
  const context = `reading ${describeRef(ref)}`;
  // Asking for $Latest in the same call tells whether the wanted version is the newest.
  const versions = wanted === '$Latest' ? ['$Latest'] : [wanted, '$Latest'];
  const out = await awsCall('ec2', 'DescribeLaunchTemplateVersions', context, () =>
    client.send(
      new DescribeLaunchTemplateVersionsCommand({
        ...(ref.id ? { LaunchTemplateId: ref.id } : { LaunchTemplateName: ref.name }),
        Versions: versions,
      }),
    ),
  );
  const all = out.LaunchTemplateVersions ?? [];
  const found = pick(all, wanted);
  const latest = pick(all, '$Latest');
  if (!found) {
    throw new CloudError(
      'DescribeLaunchTemplateVersions',
      context,
      'InvalidLaunchTemplateVersion.NotFound',
      false,
      new Error(`${describeRef(ref)} not found`),
    );
  }
  const data = found.LaunchTemplateData ?? {};
  const root = rootMapping(data.BlockDeviceMappings ?? []);
  return {
    id: found.LaunchTemplateId ?? ref.id ?? '',
    name: found.LaunchTemplateName ?? ref.name,
    version: found.VersionNumber ?? 0,
    isDefault: found.DefaultVersion ?? false,
    isLatest: found.VersionNumber === latest?.VersionNumber,
    // AWS refuses to hibernate an instance whose root volume is not encrypted.
    hibernationReady: Boolean(data.HibernationOptions?.Configured && root?.Ebs?.Encrypted),
  };
}
