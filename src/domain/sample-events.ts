import { randomUUID } from 'node:crypto';

// EventBridge events shaped as the AWS documentation shows them, built in one place for every producer:
// `spotmax events send` (checking the wiring), the simulated region (what its EventBridge rule delivers
// to SQS) and the tests. The shapes follow these documents:
//   - "Spot Instance interruption notices" (EC2 User Guide): EC2 Spot Instance Interruption Warning,
//     detail { instance-id, instance-action }, the instance ARN in resources.
//   - "EC2 instance rebalance recommendations" (EC2 User Guide): EC2 Instance Rebalance Recommendation.
//   - "EC2 instance state-change events" (EC2 User Guide, EventBridge): detail { instance-id, state }.
//   - "Monitoring AWS Health events with Amazon EventBridge" (AWS Health User Guide): AWS Health Event,
//     service EC2, eventTypeCategory scheduledChange, affectedEntities[].entityValue.
//   - "Amazon EC2 Auto Scaling lifecycle hooks" / "Event reference" (Auto Scaling User Guide):
//     EC2 Instance-launch/-terminate Lifecycle Action with the token, hook, group, Origin/Destination.
// Times carry whole seconds, as AWS sends them.

export type SampleEventType =
  | 'spot-interruption'
  | 'rebalance'
  | 'state-change'
  | 'scheduled-change'
  | 'lifecycle-terminate'
  | 'lifecycle-launch';

/** The account the samples (and the simulated region) use. */
export const SAMPLE_ACCOUNT = '123456789012';

export type LifecycleTransition =
  | 'autoscaling:EC2_INSTANCE_LAUNCHING'
  | 'autoscaling:EC2_INSTANCE_TERMINATING';

export interface SampleEventOptions {
  type: SampleEventType;
  instanceId: string;
  region: string;
  account?: string;
  time?: Date;
  /** The event id (a random UUID unless given; the simulated region gives deterministic ones). */
  id?: string;
  /** state-change: the new state (default stopping). */
  state?: string;
  /** spot-interruption: terminate (default), stop or hibernate. */
  instanceAction?: string;
  /** lifecycle: the group, hook and token; scheduled-change: more affected instances. */
  groupName?: string;
  hookName?: string;
  token?: string;
  /** lifecycle: the UUID in the group's ARN (random unless given). */
  groupUuid?: string;
  moreInstanceIds?: string[];
}

export type EventBridgeEvent = {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
};

/** What Auto Scaling puts in a lifecycle action event (the simulated region's hooks produce these). */
export interface LifecycleEventFields {
  groupName: string;
  hookName: string;
  instanceId: string;
  token: string;
  transition: LifecycleTransition;
}

/** EventBridge wants whole seconds in `time`, as AWS sends it. */
const isoSeconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export function buildSampleEvent(o: SampleEventOptions): EventBridgeEvent {
  const account = o.account ?? SAMPLE_ACCOUNT;
  const time = o.time ?? new Date();
  const instanceArn = (id: string) => `arn:aws:ec2:${o.region}:${account}:instance/${id}`;
  const base = { version: '0', id: o.id ?? randomUUID(), account, time: isoSeconds(time), region: o.region };
  switch (o.type) {
    case 'spot-interruption':
      return {
        ...base,
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        source: 'aws.ec2',
        resources: [instanceArn(o.instanceId)],
        detail: { 'instance-id': o.instanceId, 'instance-action': o.instanceAction ?? 'terminate' },
      };
    case 'rebalance':
      return {
        ...base,
        'detail-type': 'EC2 Instance Rebalance Recommendation',
        source: 'aws.ec2',
        resources: [instanceArn(o.instanceId)],
        detail: { 'instance-id': o.instanceId },
      };
    case 'state-change':
      return {
        ...base,
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        resources: [instanceArn(o.instanceId)],
        detail: { 'instance-id': o.instanceId, state: o.state ?? 'stopping' },
      };
    case 'scheduled-change': {
      const ids = [o.instanceId, ...(o.moreInstanceIds ?? [])];
      const code = 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED';
      return {
        ...base,
        'detail-type': 'AWS Health Event',
        source: 'aws.health',
        resources: ids,
        detail: {
          eventArn: `arn:aws:health:${o.region}::event/EC2/${code}/${code}_${base.id}`,
          service: 'EC2',
          eventTypeCode: code,
          eventTypeCategory: 'scheduledChange',
          startTime: time.toUTCString(),
          endTime: new Date(time.getTime() + 7 * 86_400_000).toUTCString(),
          eventDescription: [
            {
              language: 'en_US',
              latestDescription:
                'EC2 has detected degradation of the underlying hardware hosting your instance.',
            },
          ],
          affectedEntities: ids.map((entityValue) => ({ entityValue })),
        },
      };
    }
    case 'lifecycle-terminate':
    case 'lifecycle-launch': {
      const terminate = o.type === 'lifecycle-terminate';
      const group = o.groupName ?? 'my-asg';
      return {
        ...base,
        'detail-type': terminate
          ? 'EC2 Instance-terminate Lifecycle Action'
          : 'EC2 Instance-launch Lifecycle Action',
        source: 'aws.autoscaling',
        resources: [
          `arn:aws:autoscaling:${o.region}:${account}:autoScalingGroup:${o.groupUuid ?? randomUUID()}:autoScalingGroupName/${group}`,
        ],
        detail: {
          LifecycleActionToken: o.token ?? randomUUID(),
          AutoScalingGroupName: group,
          LifecycleHookName: o.hookName ?? (terminate ? 'my-terminate-hook' : 'my-launch-hook'),
          EC2InstanceId: o.instanceId,
          LifecycleTransition: terminate
            ? 'autoscaling:EC2_INSTANCE_TERMINATING'
            : 'autoscaling:EC2_INSTANCE_LAUNCHING',
          Origin: terminate ? 'AutoScalingGroup' : 'EC2',
          Destination: terminate ? 'EC2' : 'AutoScalingGroup',
        },
      };
    }
  }
}

/** The lifecycle action event Auto Scaling sends for `f`. */
export function lifecycleSampleEvent(
  f: LifecycleEventFields,
  o: Pick<SampleEventOptions, 'region' | 'time' | 'id' | 'groupUuid'>,
): EventBridgeEvent {
  return buildSampleEvent({
    ...o,
    type: f.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING' ? 'lifecycle-launch' : 'lifecycle-terminate',
    instanceId: f.instanceId,
    groupName: f.groupName,
    hookName: f.hookName,
    token: f.token,
  });
}
