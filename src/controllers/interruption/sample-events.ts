import { randomUUID } from 'node:crypto';

// Correctly shaped events, as the AWS documentation shows them, for `spotmax events send` and tests.

export type SampleEventType =
  | 'spot-interruption'
  | 'rebalance'
  | 'state-change'
  | 'scheduled-change'
  | 'lifecycle-terminate'
  | 'lifecycle-launch';

export interface SampleEventOptions {
  type: SampleEventType;
  instanceId: string;
  region: string;
  account?: string;
  time?: Date;
  id?: string;
  /** state-change: the new state (default stopping). */
  state?: string;
  /** spot-interruption: terminate (default), stop or hibernate. */
  instanceAction?: string;
  /** lifecycle: the group and hook; scheduled-change: more affected instances. */
  groupName?: string;
  hookName?: string;
  token?: string;
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

/** EventBridge wants whole seconds in `time`, as AWS sends it. */
const isoSeconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export function buildSampleEvent(o: SampleEventOptions): EventBridgeEvent {
  const account = o.account ?? '123456789012';
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
          `arn:aws:autoscaling:${o.region}:${account}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${group}`,
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
