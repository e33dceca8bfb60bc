// The IAM permission behind every AWS action the adapters call. An access-denied error names the
// permission from here, and a test compares this list with deploy/iam/spotmax-policy.json, so the
// policy and the code cannot drift apart.

export type AwsService = 'events' | 'autoscaling' | 'ec2' | 'sqs' | 'cloudwatch' | 'dynamodb' | 'eks';

/** IAM service prefixes. */
const IAM_PREFIX: Record<AwsService, string> = {
  autoscaling: 'autoscaling',
  ec2: 'ec2',
  sqs: 'sqs',
  events: 'events',
  cloudwatch: 'cloudwatch',
  dynamodb: 'dynamodb',
  eks: 'eks',
};

export const IAM_POLICY_FILE = 'deploy/iam/spotmax-policy.json';

export function iamPermission(service: AwsService, action: string): string {
  return `${IAM_PREFIX[service]}:${action}`;
}

/** Every action spotmax's adapters call, as IAM permissions. */
export const REQUIRED_PERMISSIONS: readonly string[] = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DetachInstances',
  'autoscaling:AttachInstances',
  'autoscaling:UpdateAutoScalingGroup',
  'autoscaling:CreateOrUpdateTags',
  'autoscaling:DeleteTags',
  'autoscaling:DescribeScalingActivities',
  // Voluntary replacements wait while an instance refresh replaces the group's instances.
  'autoscaling:DescribeInstanceRefreshes',
  'autoscaling:CompleteLifecycleAction',
  'autoscaling:RecordLifecycleActionHeartbeat',
  'autoscaling:DescribeLifecycleHooks',
  'ec2:DescribeInstances',
  'ec2:CreateTags',
  'ec2:DeleteTags',
  'ec2:RunInstances',
  'ec2:StartInstances',
  'ec2:StopInstances',
  'ec2:TerminateInstances',
  'ec2:DescribeVolumes',
  'ec2:AttachVolume',
  'ec2:DetachVolume',
  'ec2:CreateVolume',
  'ec2:CreateSnapshot',
  'ec2:DescribeSnapshots',
  'ec2:DeleteSnapshot',
  'ec2:ModifyInstanceAttribute',
  'ec2:DescribeLaunchTemplateVersions',
  // Standbys: hibernation prerequisites, attribute-based types, status checks before the stop.
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:GetInstanceTypesFromInstanceRequirements',
  'ec2:DescribeInstanceStatus',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:SendMessage',
  'sqs:GetQueueAttributes',
  'cloudwatch:PutMetricData',
  // Notifications: spotmax's actions and problems on the EventBridge bus (aws/events.ts).
  'events:PutEvents',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  // kubernetes.eks: the cluster's endpoint and CA (the bearer token is presigned, no STS call is made).
  'eks:DescribeCluster',
];
