// EventBridge-shaped messages as the rule → SQS target delivers them, built like the samples in the
// AWS documentation ("Spot Instance interruption notices", "EC2 instance rebalance recommendations",
// "Amazon EC2 Auto Scaling lifecycle hooks"): times to the second, resources as ARNs.

export const SIM_ACCOUNT = '123456789012';

export interface EventContext {
  region: string;
  /** Unique, deterministic event id. */
  id: string;
  time: Date;
}

function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function envelope(
  ctx: EventContext,
  source: string,
  detailType: string,
  resources: string[],
  detail: object,
): string {
  return JSON.stringify({
    version: '0',
    id: ctx.id,
    'detail-type': detailType,
    source,
    account: SIM_ACCOUNT,
    time: isoSeconds(ctx.time),
    region: ctx.region,
    resources,
    detail,
  });
}

const instanceArn = (region: string, id: string) => `arn:aws:ec2:${region}:${SIM_ACCOUNT}:instance/${id}`;

export function spotWarningEvent(ctx: EventContext, instanceId: string): string {
  return envelope(
    ctx,
    'aws.ec2',
    'EC2 Spot Instance Interruption Warning',
    [instanceArn(ctx.region, instanceId)],
    {
      'instance-id': instanceId,
      'instance-action': 'terminate',
    },
  );
}

export function rebalanceEvent(ctx: EventContext, instanceId: string): string {
  return envelope(
    ctx,
    'aws.ec2',
    'EC2 Instance Rebalance Recommendation',
    [instanceArn(ctx.region, instanceId)],
    {
      'instance-id': instanceId,
    },
  );
}

export function stateChangeEvent(ctx: EventContext, instanceId: string, state: string): string {
  return envelope(
    ctx,
    'aws.ec2',
    'EC2 Instance State-change Notification',
    [instanceArn(ctx.region, instanceId)],
    {
      'instance-id': instanceId,
      state,
    },
  );
}

export interface LifecycleEventFields {
  groupName: string;
  hookName: string;
  instanceId: string;
  token: string;
  transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';
}

export function lifecycleActionEvent(ctx: EventContext, f: LifecycleEventFields): string {
  const launching = f.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING';
  const groupArn = `arn:aws:autoscaling:${ctx.region}:${SIM_ACCOUNT}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${f.groupName}`;
  return envelope(
    ctx,
    'aws.autoscaling',
    launching ? 'EC2 Instance-launch Lifecycle Action' : 'EC2 Instance-terminate Lifecycle Action',
    [groupArn],
    {
      LifecycleActionToken: f.token,
      AutoScalingGroupName: f.groupName,
      LifecycleHookName: f.hookName,
      EC2InstanceId: f.instanceId,
      LifecycleTransition: f.transition,
      Origin: launching ? 'EC2' : 'AutoScalingGroup',
      Destination: launching ? 'AutoScalingGroup' : 'EC2',
    },
  );
}
