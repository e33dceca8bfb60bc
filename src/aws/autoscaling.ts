import {
  AttachInstancesCommand,
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeLifecycleHooksCommand,
  DescribeScalingActivitiesCommand,
  DetachInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { SpotmaxError } from '../domain/errors.js';
import type { Group, ScalingActivity } from '../domain/types.js';
import type {
  AutoScalingPort,
  GroupUpdate,
  InstanceRefresh,
  LifecycleActionRef,
} from '../ports/autoscaling.js';
import { mapLimit } from '../timing/pool.js';
import { toActivity, toGroup, toInstanceRefresh } from './asg-shapes.js';
import { allPages, chunks } from './batch.js';
import { awsCall } from './call.js';

/** DescribeAutoScalingGroups returns at most 100 groups a page. */
const GROUPS_PER_PAGE = 100;
/** DetachInstances and AttachInstances take at most 20 ids. */
export const MAX_INSTANCES_PER_MEMBERSHIP_CALL = 20;

function assertBatch(action: string, groupName: string, ids: string[]): void {
  if (ids.length > MAX_INSTANCES_PER_MEMBERSHIP_CALL) {
    throw new SpotmaxError(
      `${action} for ${groupName}: ${ids.length} instances given, the API takes at most ${MAX_INSTANCES_PER_MEMBERSHIP_CALL}; batch the call`,
    );
  }
}

export class AwsAutoScaling implements AutoScalingPort {
  constructor(private readonly client: AutoScalingClient) {}

  async describeGroups(names?: string[]): Promise<Group[]> {
    if (names && names.length === 0) return [];
    // Named lookups are split so one request never lists more names than a page can return.
    const nameBatches: (string[] | undefined)[] = names ? chunks(names, GROUPS_PER_PAGE) : [undefined];
    const pages = await mapLimit(nameBatches, 1, (batch) =>
      allPages(
        (token) =>
          awsCall('autoscaling', 'DescribeAutoScalingGroups', 'listing Auto Scaling groups', () =>
            this.client.send(
              new DescribeAutoScalingGroupsCommand({
                AutoScalingGroupNames: batch,
                MaxRecords: GROUPS_PER_PAGE,
                NextToken: token,
              }),
            ),
          ),
        (page) => (page.AutoScalingGroups ?? []).map(toGroup),
        (page) => page.NextToken,
      ),
    );
    return pages.flat();
  }

  async detachInstances(groupName: string, instanceIds: string[], decrementDesired: boolean): Promise<void> {
    if (instanceIds.length === 0) return;
    assertBatch('DetachInstances', groupName, instanceIds);
    await awsCall(
      'autoscaling',
      'DetachInstances',
      `detaching ${instanceIds.join(', ')} from ${groupName}`,
      () =>
        this.client.send(
          new DetachInstancesCommand({
            AutoScalingGroupName: groupName,
            InstanceIds: instanceIds,
            ShouldDecrementDesiredCapacity: decrementDesired,
          }),
        ),
    );
  }

  async attachInstances(groupName: string, instanceIds: string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    assertBatch('AttachInstances', groupName, instanceIds);
    await awsCall(
      'autoscaling',
      'AttachInstances',
      `attaching ${instanceIds.join(', ')} to ${groupName}`,
      () =>
        this.client.send(
          new AttachInstancesCommand({ AutoScalingGroupName: groupName, InstanceIds: instanceIds }),
        ),
    );
  }

  async updateGroup(groupName: string, update: GroupUpdate): Promise<void> {
    const fields = Object.keys(update).join(', ');
    // Only the sizes given: AWS keeps every property left out, the MixedInstancesPolicy included
    // (UpdateAutoScalingGroup API reference). moto erases the policy instead (DESIGN §4); that gap is
    // documented in test/aws/autoscaling.test.ts and must not be papered over by re-sending the policy.
    await awsCall('autoscaling', 'UpdateAutoScalingGroup', `updating ${fields} of ${groupName}`, () =>
      this.client.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: groupName,
          DesiredCapacity: update.desired,
          MinSize: update.min,
          MaxSize: update.max,
        }),
      ),
    );
  }

  async putGroupTags(
    groupName: string,
    tags: { key: string; value: string; propagateAtLaunch: boolean }[],
  ): Promise<void> {
    if (tags.length === 0) return;
    await awsCall(
      'autoscaling',
      'CreateOrUpdateTags',
      `tagging group ${groupName} with ${tags.map((t) => t.key).join(', ')}`,
      () =>
        this.client.send(
          new CreateOrUpdateTagsCommand({
            Tags: tags.map((t) => ({
              ResourceId: groupName,
              ResourceType: 'auto-scaling-group',
              Key: t.key,
              Value: t.value,
              PropagateAtLaunch: t.propagateAtLaunch,
            })),
          }),
        ),
    );
  }

  async deleteGroupTags(groupName: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await awsCall(
      'autoscaling',
      'DeleteTags',
      `removing tags ${keys.join(', ')} from group ${groupName}`,
      () =>
        this.client.send(
          new DeleteTagsCommand({
            Tags: keys.map((key) => ({
              ResourceId: groupName,
              ResourceType: 'auto-scaling-group',
              Key: key,
            })),
          }),
        ),
    );
  }

  async describeScalingActivities(groupName: string, maxRecords = 20): Promise<ScalingActivity[]> {
    const out = await awsCall(
      'autoscaling',
      'DescribeScalingActivities',
      `reading scaling activities of ${groupName}`,
      () =>
        this.client.send(
          new DescribeScalingActivitiesCommand({ AutoScalingGroupName: groupName, MaxRecords: maxRecords }),
        ),
    );
    return (out.Activities ?? []).map(toActivity);
  }

  async describeInstanceRefreshes(groupName: string): Promise<InstanceRefresh[]> {
    // Most recent first; one page of 10: an active refresh is always among the latest.
    const out = await awsCall(
      'autoscaling',
      'DescribeInstanceRefreshes',
      `reading instance refreshes of ${groupName}`,
      () =>
        this.client.send(
          new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: groupName, MaxRecords: 10 }),
        ),
    );
    return (out.InstanceRefreshes ?? []).map(toInstanceRefresh);
  }

  async completeLifecycleAction(ref: LifecycleActionRef, result: 'CONTINUE' | 'ABANDON'): Promise<void> {
    await awsCall(
      'autoscaling',
      'CompleteLifecycleAction',
      `completing lifecycle hook ${ref.hookName} of ${ref.instanceId} in ${ref.groupName} with ${result}`,
      () =>
        this.client.send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: ref.groupName,
            LifecycleHookName: ref.hookName,
            InstanceId: ref.instanceId,
            LifecycleActionToken: ref.token,
            LifecycleActionResult: result,
          }),
        ),
    );
  }

  async recordLifecycleActionHeartbeat(ref: LifecycleActionRef): Promise<void> {
    await awsCall(
      'autoscaling',
      'RecordLifecycleActionHeartbeat',
      `extending lifecycle hook ${ref.hookName} of ${ref.instanceId} in ${ref.groupName}`,
      () =>
        this.client.send(
          new RecordLifecycleActionHeartbeatCommand({
            AutoScalingGroupName: ref.groupName,
            LifecycleHookName: ref.hookName,
            InstanceId: ref.instanceId,
            LifecycleActionToken: ref.token,
          }),
        ),
    );
  }

  async describeHookHeartbeatSeconds(groupName: string, hookName: string): Promise<number | undefined> {
    const out = await awsCall(
      'autoscaling',
      'DescribeLifecycleHooks',
      `reading lifecycle hook ${hookName} of ${groupName}`,
      () =>
        this.client.send(
          new DescribeLifecycleHooksCommand({
            AutoScalingGroupName: groupName,
            LifecycleHookNames: [hookName],
          }),
        ),
    );
    return out.LifecycleHooks?.find((h) => h.LifecycleHookName === hookName)?.HeartbeatTimeout;
  }
}
