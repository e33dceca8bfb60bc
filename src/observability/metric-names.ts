// Every metric spotmax publishes, in one place (CloudWatch namespace SpotMax; Prometheus derives its
// names, types, labels and help from these, see metric-catalog.ts). The CloudFormation dashboard and alarms
// (deploy/cloudformation/spotmax.yaml) rely on them: test/deploy/cloudformation.test.ts checks that
// every SpotMax metric the template uses is listed here AND is published somewhere under src/, so a
// rename cannot silently empty a graph or an alarm. Per-group metrics carry the dimension
// AutoScalingGroupName (group-metrics.ts records them).
export const METRIC_NAMESPACE = 'SpotMax';

export const MetricNames = {
  // The interruption fast path (controllers/interruption).
  /** Spot interruption warnings handled. */
  Interruptions: 'InterruptionWarnings',
  /** Instances detached from their group after a warning or a state change. */
  InstancesDetached: 'InstancesDetached',
  /** Seconds from the warning's event time to the detach. */
  DetachLag: 'DetachLagSeconds',
  /** Seconds the release steps (drain, deregistration) took for one instance. */
  ReleaseSeconds: 'ReleaseSeconds',
  /** Lifecycle actions completed with CONTINUE. */
  LifecycleActionsCompleted: 'LifecycleActionsCompleted',
  /** Messages deleted without action (malformed, foreign, test), dimension Reason. */
  EventsDiscarded: 'EventsDiscarded',

  // The standby pool (controllers/reconcile/standby-hook).
  /** Seconds from the warning to a standby attached in the instance's place; its sample count is the
   * number of standby hits. */
  StandbyHits: 'StandbyAttachSeconds',
  /** Standbys that did not run in time (the plain detach followed). */
  StandbyMisses: 'StandbyStartTimeouts',

  // The release steps (release/outcomes).
  /** Seconds a Kubernetes drain took (not recorded when the step was skipped); its sample count is the
   * number of drains. */
  Drains: 'DrainSeconds',
  /** Drains that ended with pods left (PDB, timeout) or failed: 1 per such step. */
  DrainsIncomplete: 'DrainIncomplete',
  /** Pods moved off the node. */
  PodsEvicted: 'PodsEvicted',
  /** Instances without a Kubernetes node. */
  NodeNotFound: 'NodeNotFound',
  /** Services deregistered at the Consul agent, or 1 for a node removed from the catalog. */
  ConsulDeregistered: 'ConsulDeregistered',
  /** Consul steps that ended partial or failed: 1 per such step. */
  ConsulFailures: 'ConsulFailures',

  /** Interruptions handled to the end, dimensions group and Outcome (detached, standby, already-gone, dry-run). */
  InterruptionsHandled: 'InterruptionsHandled',

  // The reconciler.
  /** Groups shifted to On-Demand because Spot capacity could not be had (reconcile fallback handler). */
  Fallbacks: 'Fallbacks',
  /** Reconcile passes, dimensions Scope (full, group) and Outcome (ok, failed). */
  ReconcilePasses: 'ReconcilePasses',
  /** Seconds one pass took (observe, plan, act), dimension Scope. */
  ReconcilePassSeconds: 'ReconcilePassSeconds',
  /** Actions the reconciler carried out, dimensions Kind and Outcome (done, failed, dry-run, unsupported, refused = the leader lease was lost). */
  ReconcileActions: 'ReconcileActions',
  /** Groups seen at the last full pass, dimension State (managed, unmanaged, problem). */
  Groups: 'Groups',
  /** Stopped standbys ready to be started, per group, at the group's last pass. */
  StandbysReady: 'StandbysReady',

  // Notifications (observability/notifier.ts).
  /** Events accepted by EventBridge. */
  NotificationsPublished: 'NotificationsPublished',
  /** Events EventBridge refused or that could not be sent, dimension Reason (the error code). */
  NotificationsFailed: 'NotificationsFailed',

  // The service itself.
  /** Every error log line (observability/error-metric.ts), WITHOUT dimensions so one alarm covers all. */
  Errors: 'Errors',
  /** A changed policy folder that failed validation; the last good policies stay in force. */
  PolicyReloadFailures: 'PolicyReloadFailures',
  /** A changed policy folder applied without a restart. */
  PolicyReloads: 'PolicyReloads',
  /** Policies in force after the last successful load. */
  PoliciesLoaded: 'PoliciesLoaded',
  /** 1 while this replica holds the reconciler's leader lease, else 0 (app/leadership.ts). */
  Leader: 'Leader',
} as const;

export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];
