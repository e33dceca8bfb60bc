import { type MetricName, MetricNames } from './metric-names.js';

// How each metric appears on /metrics: its Prometheus type, help text, labels and histogram buckets.
// Keyed by the CloudWatch name (metric-names.ts), so CloudWatch and Prometheus carry the same metrics:
// the code records one datum (MetricsPort) and the fan-out feeds both. `Record<MetricName, …>` makes a
// metric added to metric-names.ts without an entry here a type error.
//
// The Prometheus name is derived from the CloudWatch name (prometheusName): snake case, prefixed
// `spotmax_`, counters end in `_total`, durations in `_seconds`. Dimensions become labels
// (LABELS below: AutoScalingGroupName is `group`).

export type PromType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  type: PromType;
  /** What the number tells an operator, and what to do when it moves. */
  help: string;
  /** CloudWatch dimension names the datum may carry (each becomes a label). */
  dimensions: readonly string[];
  /** Histogram bucket upper bounds, in seconds. */
  buckets?: readonly number[];
}

/** CloudWatch dimension -> Prometheus label. */
export const LABELS: Record<string, string> = {
  AutoScalingGroupName: 'group',
  Reason: 'reason',
  Outcome: 'outcome',
  Kind: 'kind',
  State: 'state',
  Scope: 'scope',
};

const G = ['AutoScalingGroupName'] as const;

/** A warning gives 120 s; detachDelaySeconds is 0-119: the buckets resolve that whole window. */
const WARNING_WINDOW = [1, 2, 5, 10, 15, 20, 30, 45, 60, 80, 100, 110, 120, 150];
/** Release steps and drains are bounded by the warning (or drainTimeoutSeconds on a voluntary retirement). */
const RELEASE = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 300];
/** A stopped instance starts in 10-60 s; a hibernated one resumes faster. */
const STANDBY_START = [5, 10, 15, 20, 30, 45, 60, 90, 120];
/** A one-group pass is milliseconds; a full pass over 500 groups a second or more, mostly AWS reads. */
const PASS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const METRIC_CATALOG: Record<MetricName, MetricSpec> = {
  [MetricNames.Interruptions]: {
    type: 'counter',
    help: 'Spot interruption warnings received for instances of a managed group. A rise in one group means its instance pools are being reclaimed: add instance types or AZs to its launch template overrides.',
    dimensions: G,
  },
  [MetricNames.InstancesDetached]: {
    type: 'counter',
    help: 'Instances the fast path detached from their group after a warning or a state change, so Auto Scaling launched their replacement before they were gone. Should follow interruption_warnings_total; a gap means warnings that ended without a detach (see interruptions_handled_total by outcome).',
    dimensions: G,
  },
  [MetricNames.DetachLag]: {
    type: 'histogram',
    help: "Seconds from a warning's event time to the detach call. It should sit just above the group's interruption.detachDelaySeconds; values near 120 mean replacements start too late to bridge the gap.",
    dimensions: G,
    buckets: WARNING_WINDOW,
  },
  [MetricNames.ReleaseSeconds]: {
    type: 'histogram',
    help: 'Seconds the release steps (Kubernetes drain, Consul deregistration) took for one instance. Values near the deadline mean drains are cut short: look at drain_incomplete_total and PodDisruptionBudgets.',
    dimensions: G,
    buckets: RELEASE,
  },
  [MetricNames.LifecycleActionsCompleted]: {
    type: 'counter',
    help: "Terminate or launch lifecycle actions spotmax completed with CONTINUE for its own hooks. Other owners' hooks (CodeDeploy) are never counted here.",
    dimensions: G,
  },
  [MetricNames.EventsDiscarded]: {
    type: 'counter',
    help: 'Queue messages deleted without action, by reason (malformed, foreign instance, test, too old). A steady rate of "foreign" is harmless (the rule matches instances of unmanaged groups); "malformed" points at a wrong EventBridge rule or a producer that is not AWS.',
    dimensions: ['Reason'],
  },
  [MetricNames.InterruptionsHandled]: {
    type: 'counter',
    help: 'Interruptions whose handling ended, by group and outcome: detached (replacement launched by Auto Scaling), standby (a standby took the place), already-gone (the instance left before the detach), dry-run.',
    dimensions: ['AutoScalingGroupName', 'Outcome'],
  },
  [MetricNames.StandbyHits]: {
    type: 'histogram',
    help: "Seconds from the warning to a standby attached in the interrupted instance's place (its count is the number of standby hits). Compare with the 120 s warning: a standby is worth keeping while this stays well under it.",
    dimensions: G,
    buckets: STANDBY_START,
  },
  [MetricNames.StandbyMisses]: {
    type: 'counter',
    help: "Standbys that were not running within standby.startTimeoutSeconds, so the plain detach followed. A rise means the pool's instance type or AZ has no capacity to start: widen the pool.",
    dimensions: G,
  },
  [MetricNames.Drains]: {
    type: 'histogram',
    help: 'Seconds a Kubernetes drain took (skipped drains are not observed). Drains near kubernetes.drainTimeoutSeconds are cut short: check PodDisruptionBudgets and pod terminationGracePeriodSeconds.',
    dimensions: G,
    buckets: RELEASE,
  },
  [MetricNames.DrainsIncomplete]: {
    type: 'counter',
    help: 'Drains that ended with pods still on the node (a PodDisruptionBudget refused an eviction, or the deadline came) or failed. Those pods die with the instance.',
    dimensions: G,
  },
  [MetricNames.PodsEvicted]: {
    type: 'counter',
    help: 'Pods evicted (through the Eviction API, so PodDisruptionBudgets hold) from nodes being released; their controllers start them elsewhere.',
    dimensions: G,
  },
  [MetricNames.NodeNotFound]: {
    type: 'counter',
    help: 'Instances released with no Kubernetes node of that name. Steady values mean the kubeconfig points at the wrong cluster or nodes are not named after their instances.',
    dimensions: G,
  },
  [MetricNames.ConsulDeregistered]: {
    type: 'counter',
    help: "Services deregistered at an instance's Consul agent (or 1 for a node removed from the catalog) before it went away, so clients stop calling it.",
    dimensions: G,
  },
  [MetricNames.ConsulFailures]: {
    type: 'counter',
    help: 'Consul deregistrations that ended partial or failed: clients may call the instance until Consul notices it is gone. Check the agent port (security group) and the ACL token.',
    dimensions: G,
  },
  [MetricNames.Fallbacks]: {
    type: 'counter',
    help: 'Times a group got On-Demand capacity because Spot could not be had for onDemandFallback.afterSeconds. It returns to Spot by itself when onDemandFallback.returnToSpot is on.',
    dimensions: G,
  },
  [MetricNames.ReconcilePasses]: {
    type: 'counter',
    help: 'Reconcile passes by scope (full: every group on the schedule; group: one group after an event) and outcome. A failed full pass is retried with backoff; a steady failed rate means AWS reads fail (credentials, throttling).',
    dimensions: ['Scope', 'Outcome'],
  },
  [MetricNames.ReconcilePassSeconds]: {
    type: 'histogram',
    help: 'Seconds one reconcile pass took, observe to last action, by scope. A full pass longer than the --interval means passes queue up behind each other.',
    dimensions: ['Scope'],
    buckets: PASS,
  },
  [MetricNames.ReconcileActions]: {
    type: 'counter',
    help: 'Actions the reconciler carried out, by kind (launch-standby, tag-instance, replacement-retire, ...) and outcome (done, failed, dry-run, unsupported, refused: not attempted because this replica lost the leader lease). Failed actions are retried at the next pass; the logs say why.',
    dimensions: ['Kind', 'Outcome'],
  },
  [MetricNames.Groups]: {
    type: 'gauge',
    help: 'Opted-in groups at the last full pass by state: managed, unmanaged (opted out, unsuitable, bad tag, ambiguous policy) and problem (groups with at least one problem; `spotmax plan` lists them).',
    dimensions: ['State'],
  },
  [MetricNames.StandbysReady]: {
    type: 'gauge',
    help: 'Stopped standbys ready to start, per group, at its last pass. Below standby.size after a storm is expected until the reconciler launches replacements; stuck below means launches fail.',
    dimensions: G,
  },
  [MetricNames.NotificationsPublished]: {
    type: 'counter',
    help: 'spotmax events (actions and problems) EventBridge accepted on the configured bus; rules route them to Slack, SNS or a ticket queue.',
    dimensions: [],
  },
  [MetricNames.NotificationsFailed]: {
    type: 'counter',
    help: 'spotmax events that were not published, by reason (the PutEvents error code, or dropped when too many waited). Notifications never hold up the work itself; AccessDeniedException means the task role lacks events:PutEvents on the bus.',
    dimensions: ['Reason'],
  },
  [MetricNames.Errors]: {
    type: 'counter',
    help: 'Error log lines of every component, without labels: the stack alarm watches it. Read the JSON logs (level 50) for what went wrong.',
    dimensions: [],
  },
  [MetricNames.PolicyReloadFailures]: {
    type: 'counter',
    help: 'Changes to the policy folder that failed validation. The last good policies stay in force and /readyz turns red until the folder is fixed (`spotmax validate` shows the errors).',
    dimensions: [],
  },
  [MetricNames.PolicyReloads]: {
    type: 'counter',
    help: 'Changes to the policy folder applied without a restart.',
    dimensions: [],
  },
  [MetricNames.PoliciesLoaded]: {
    type: 'gauge',
    help: 'Policies in force after the last successful load of the policy folder.',
    dimensions: [],
  },
  [MetricNames.Leader]: {
    type: 'gauge',
    help: "1 while this replica holds the reconciler's leader lease and acts, 0 while it only observes and plans. Summed over replicas it should be exactly 1.",
    dimensions: [],
  },
};

/** The Prometheus family name of a CloudWatch metric name. */
export function prometheusName(cloudWatchName: string, type: PromType, prefix = 'spotmax_'): string {
  let name = prefix + snakeCase(cloudWatchName);
  if (type === 'histogram' && !name.endsWith('_seconds')) name += '_seconds';
  if (type === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_:]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** The Prometheus label of a CloudWatch dimension. */
export function labelName(dimension: string): string {
  const name = LABELS[dimension] ?? snakeCase(dimension);
  const safe = /^[a-zA-Z_]/.test(name) ? name : `_${name}`;
  // Names starting with __ are reserved by Prometheus.
  return safe.startsWith('__') ? safe.slice(1) : safe;
}
