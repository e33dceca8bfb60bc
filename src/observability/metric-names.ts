// The metric names spotmax publishes, in one place: the CloudFormation dashboard and alarms
// (deploy/cloudformation/spotmax.yaml) refer to these exact names, so a rename here must be made there
// too (test/deploy/cloudformation.test.ts checks that every name the template uses is listed here).
export const METRIC_NAMESPACE = 'SpotMax';

export const MetricNames = {
  /** Interruption warnings handled (dimension AutoScalingGroupName). */
  Interruptions: 'Interruptions',
  /** Seconds from the warning's event time to the detach call returning. */
  DetachLag: 'DetachLag',
  /** Interruptions answered by starting a standby instead of waiting for the ASG. */
  StandbyHits: 'StandbyHits',
  /** Instances released (Kubernetes drain, Consul deregistration). */
  Drains: 'Drains',
  /** Groups shifted to On-Demand because Spot capacity could not be had. */
  Fallbacks: 'Fallbacks',
  /** Any error spotmax logged at error level. Recorded WITHOUT dimensions so one alarm covers all. */
  Errors: 'Errors',
  /** A changed policy folder that failed validation; the last good policies stay in force. */
  PolicyReloadFailures: 'PolicyReloadFailures',
  /** A changed policy folder applied without a restart. */
  PolicyReloads: 'PolicyReloads',
  /** Policies in force after the last successful load. */
  PoliciesLoaded: 'PoliciesLoaded',
} as const;

export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];
