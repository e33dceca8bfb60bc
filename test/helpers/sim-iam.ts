import { awsActionOf, type RecordedCall } from '../../src/sim/recording.js';
import type { SimRegion } from '../../src/sim/region.js';
import { noteUnmappedCall, recordIamRequests, TEST_ACCOUNT } from './iam-check.js';
import { iamRequestsOf, type RequestFacts, type Tags } from './iam-requests.js';

// The simulated region's side of the IAM check: each port call the recording decorator sees
// (src/sim/recording.ts, option onCall) becomes the SDK command the AWS adapter would send for it, and
// that command the IAM request AWS would authorize, with the tags the region's resources carry at that
// moment. Wire it where a test wraps the region: recordCalls(region.cloud, clock, { onCall:
// simIamRecorder(region) }). Calls whose mapping is unknown are counted, never guessed.

type Args = unknown[];
type Command = [service: string, command: string, input: Record<string, unknown>];

const tagList = (tags: Tags) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const spec = (ResourceType: string, tags: Tags | undefined) =>
  tags && Object.keys(tags).length > 0 ? [{ ResourceType, Tags: tagList(tags) }] : undefined;

/** The AWS command an adapter sends for a port call (src/aws/*), or undefined when it sends none. */
export function commandOf(call: RecordedCall): Command | 'local' | undefined {
  const a = call.args as Args;
  const s = (i: number) => a[i] as string;
  switch (`${call.port}.${call.method}`) {
    case 'autoscaling.describeGroups':
      return ['autoscaling', 'DescribeAutoScalingGroups', {}];
    case 'autoscaling.detachInstances':
      return ['autoscaling', 'DetachInstances', { AutoScalingGroupName: s(0), InstanceIds: a[1] }];
    case 'autoscaling.attachInstances':
      return ['autoscaling', 'AttachInstances', { AutoScalingGroupName: s(0), InstanceIds: a[1] }];
    case 'autoscaling.updateGroup':
      return ['autoscaling', 'UpdateAutoScalingGroup', { AutoScalingGroupName: s(0) }];
    case 'autoscaling.putGroupTags':
      return [
        'autoscaling',
        'CreateOrUpdateTags',
        {
          Tags: (a[1] as { key: string; value: string }[]).map((t) => ({
            ResourceId: s(0),
            Key: t.key,
            Value: t.value,
          })),
        },
      ];
    case 'autoscaling.deleteGroupTags':
      return [
        'autoscaling',
        'DeleteTags',
        { Tags: (a[1] as string[]).map((Key) => ({ ResourceId: s(0), Key })) },
      ];
    case 'autoscaling.describeScalingActivities':
      return ['autoscaling', 'DescribeScalingActivities', {}];
    case 'autoscaling.describeInstanceRefreshes':
      return ['autoscaling', 'DescribeInstanceRefreshes', {}];
    case 'autoscaling.describeHookHeartbeatSeconds':
      return ['autoscaling', 'DescribeLifecycleHooks', {}];
    case 'autoscaling.completeLifecycleAction':
    case 'autoscaling.recordLifecycleActionHeartbeat': {
      const ref = a[0] as { groupName: string };
      const command =
        call.method === 'completeLifecycleAction'
          ? 'CompleteLifecycleAction'
          : 'RecordLifecycleActionHeartbeat';
      return ['autoscaling', command, { AutoScalingGroupName: ref.groupName }];
    }
    case 'ec2.createTags':
      return ['ec2', 'CreateTags', { Resources: a[0], Tags: tagList(a[1] as Tags) }];
    case 'ec2.deleteTags':
      return ['ec2', 'DeleteTags', { Resources: a[0], Tags: (a[1] as string[]).map((Key) => ({ Key })) }];
    case 'ec2.startInstances':
      return ['ec2', 'StartInstances', { InstanceIds: a[0] }];
    case 'ec2.stopInstances':
      return ['ec2', 'StopInstances', { InstanceIds: a[0] }];
    case 'ec2.terminateInstances':
      return ['ec2', 'TerminateInstances', { InstanceIds: a[0] }];
    case 'ec2.attachVolume':
      return ['ec2', 'AttachVolume', { VolumeId: s(0), InstanceId: s(1) }];
    case 'ec2.detachVolume':
      return ['ec2', 'DetachVolume', { VolumeId: s(0), InstanceId: s(1) }];
    case 'ec2.createVolume': {
      const req = a[0] as { snapshotId?: string; tags?: Tags };
      return [
        'ec2',
        'CreateVolume',
        { SnapshotId: req.snapshotId, TagSpecifications: spec('volume', req.tags) },
      ];
    }
    case 'ec2.createSnapshot':
      return ['ec2', 'CreateSnapshot', { VolumeId: s(0), TagSpecifications: spec('snapshot', a[1] as Tags) }];
    case 'ec2.deleteSnapshot':
      return ['ec2', 'DeleteSnapshot', { SnapshotId: s(0) }];
    case 'ec2.runInstances': {
      const req = a[0] as { launchTemplate: { id?: string; name?: string }; tags: Tags; subnetId?: string };
      return [
        'ec2',
        'RunInstances',
        {
          LaunchTemplate: {
            LaunchTemplateId: req.launchTemplate.id,
            LaunchTemplateName: req.launchTemplate.name,
          },
          SubnetId: req.subnetId,
          TagSpecifications: spec('instance', req.tags),
        },
      ];
    }
    case 'queue.receive':
      return ['sqs', 'ReceiveMessage', { QueueUrl: s(0) }];
    case 'queue.delete':
      return ['sqs', 'DeleteMessage', { QueueUrl: s(0) }];
    case 'queue.changeVisibility':
      return ['sqs', 'ChangeMessageVisibility', { QueueUrl: s(0) }];
    case 'queue.send':
      return ['sqs', 'SendMessage', { QueueUrl: s(0) }];
    case 'queue.check':
      return ['sqs', 'GetQueueAttributes', { QueueUrl: s(0) }];
    case 'metrics.flush':
      return ['cloudwatch', 'PutMetricData', { Namespace: 'SpotMax' }];
    case 'metrics.record':
      return 'local';
    case 'ec2.findInstanceIdsByTag':
      return ['ec2', 'DescribeInstances', {}];
    case 'ec2.findVolumeIdsByTag':
      return ['ec2', 'DescribeVolumes', {}];
    case 'ec2.setDeleteOnTermination':
      return ['ec2', 'ModifyInstanceAttribute', { InstanceId: s(0) }];
    default:
      // Reads map by name (describeVolumes -> ec2:DescribeVolumes, ...): they take no resource.
      if (/^(describe|get)[A-Z]/.test(call.method)) return [call.port, awsActionOf(call.method), {}];
      return undefined;
  }
}

function tagsOf(region: SimRegion, id: string): Tags | undefined {
  if (id.startsWith('i-')) return region.ec2.get(id)?.tags;
  if (id.startsWith('vol-')) return region.volumes.volumes.get(id)?.volume.tags;
  if (id.startsWith('snap-')) return region.volumes.snapshots.get(id)?.tags;
  return undefined;
}

/** What a call needs from the region's state, read when the call starts. */
function factsFor(region: SimRegion, input: Record<string, unknown>): RequestFacts {
  const ids = ['InstanceIds', 'Resources', 'InstanceId', 'VolumeId', 'SnapshotId'].flatMap((k) => {
    const v = input[k];
    return Array.isArray(v) ? v.map(String) : v ? [String(v)] : [];
  });
  const ec2Tags = new Map<string, Tags>();
  for (const id of ids) {
    const tags = tagsOf(region, id);
    if (tags) ec2Tags.set(id, { ...tags });
  }
  const groups: RequestFacts['groups'] = new Map();
  const names = [
    input.AutoScalingGroupName,
    ...(Array.isArray(input.Tags) ? input.Tags.map((t: { ResourceId?: string }) => t.ResourceId) : []),
  ].filter((n): n is string => typeof n === 'string');
  for (const name of names) {
    const g = region.asg.groups.get(name);
    if (!g) continue;
    groups.set(name, {
      arn: `arn:aws:autoscaling:${region.cloud.region}:${TEST_ACCOUNT}:autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/${name}`,
      tags: Object.fromEntries([...g.tags].map(([k, v]) => [k, v.value])),
    });
  }
  let launchTemplate: RequestFacts['launchTemplate'];
  const lt = input.LaunchTemplate as { LaunchTemplateId?: string; LaunchTemplateName?: string } | undefined;
  if (lt) {
    try {
      const { template, version } = region.ec2.resolveTemplate({
        id: lt.LaunchTemplateId,
        name: lt.LaunchTemplateName,
      } as never);
      launchTemplate = {
        id: template.id,
        imageId: version.imageId,
        kmsKeyIds: (version.blockDevices ?? []).flatMap((d) => {
          const key = (d as { kmsKeyId?: string }).kmsKeyId;
          return key ? [key] : [];
        }),
      };
    } catch {
      // an unknown template: the call itself fails, as in AWS
    }
  }
  return { region: region.cloud.region, account: TEST_ACCOUNT, ec2Tags, groups, launchTemplate };
}

/** The recording decorator's onCall: records each port call as the IAM request(s) AWS would authorize. */
export function simIamRecorder(region: SimRegion): (call: RecordedCall) => void {
  return (call) => {
    const cmd = commandOf(call);
    if (cmd === 'local') return;
    if (!cmd) return noteUnmappedCall(`${call.port}.${call.method}`);
    const [service, command, input] = cmd;
    try {
      recordIamRequests(
        `sim ${service}:${command}`,
        iamRequestsOf(service, command, input, factsFor(region, input)),
      );
    } catch (err) {
      noteUnmappedCall(`${call.port}.${call.method} (${(err as Error).message})`);
    }
  };
}
