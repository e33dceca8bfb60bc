// The metric names the CloudFormation dashboard and alarms (deploy/cloudformation/spotmax.yaml) rely on,
// in one place. The values are the names the code actually publishes (the fast path, the standby hook,
// the releasers, the reconciler); test/deploy/cloudformation.test.ts checks that every SpotMax metric the
// template uses is listed here AND is published somewhere under src/, so a rename cannot silently
// empty a graph or an alarm.
export const METRIC_NAMESPACE = 'SpotMax';

export const MetricNames = {
  /** Spot interruption warnings handled (controllers/interruption, dimension AutoScalingGroupName). */
  Interruptions: 'InterruptionWarnings',
  /** Seconds from the warning's event time to the detach (controllers/interruption). */
  DetachLag: 'DetachLagSeconds',
  /** Seconds from the warning to a standby attached in the instance's place; its sample count is the
   * number of standby hits (controllers/reconcile/standby-hook). */
  StandbyHits: 'StandbyAttachSeconds',
  /** Standbys that did not run in time (the plain detach followed). */
  StandbyMisses: 'StandbyStartTimeouts',
  /** Seconds a Kubernetes drain took; its sample count is the number of drains (release/outcomes). */
  Drains: 'DrainSeconds',
  /** Drains that ended with pods left (PDB, timeout). */
  DrainsIncomplete: 'DrainIncomplete',
  /** Groups shifted to On-Demand because Spot capacity could not be had (reconcile fallback handler). */
  Fallbacks: 'Fallbacks',
  /** Messages deleted without action (malformed, foreign, test), dimension Reason. */
  EventsDiscarded: 'EventsDiscarded',
  /** Every error log line (observability/error-metric.ts), WITHOUT dimensions so one alarm covers all. */
  Errors: 'Errors',
  /** A changed policy folder that failed validation; the last good policies stay in force. */
  PolicyReloadFailures: 'PolicyReloadFailures',
  /** A changed policy folder applied without a restart. */
  PolicyReloads: 'PolicyReloads',
  /** Policies in force after the last successful load. */
  PoliciesLoaded: 'PoliciesLoaded',
} as const;

export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];
