import type { ReconcileResult } from '../controllers/reconcile/pass.js';
import type { Instance } from '../domain/types.js';
import type { MetricsPort } from '../ports/metrics.js';
import { MetricNames } from './metric-names.js';

// The reconcile loop's own metrics, from what a pass returns: passes and their duration, actions by
// kind and outcome, groups by state, standbys ready per group. Recorded in the composition root from
// the loop's callbacks, so the loop itself knows nothing of metrics.

export function recordPassTiming(
  metrics: MetricsPort,
  pass: { full: boolean; ok: boolean; seconds: number },
): void {
  const scope = pass.full ? 'full' : 'group';
  metrics.record({
    name: MetricNames.ReconcilePasses,
    value: 1,
    unit: 'Count',
    dimensions: { Scope: scope, Outcome: pass.ok ? 'ok' : 'failed' },
  });
  metrics.record({
    name: MetricNames.ReconcilePassSeconds,
    value: pass.seconds,
    unit: 'Seconds',
    dimensions: { Scope: scope },
  });
}

export function recordPassResult(
  metrics: MetricsPort,
  result: ReconcileResult,
  options: {
    full: boolean;
    standbysFor: (group: string) => readonly Instance[];
    /** Groups given a StandbysReady value so far (kept by the caller across passes). */
    standbyGroups?: Set<string>;
  },
): void {
  const actions = new Map<string, number>();
  for (const r of [...result.groups.flatMap((g) => g.results), ...result.orphans.results]) {
    const key = `${r.action.kind}\t${r.status}`;
    actions.set(key, (actions.get(key) ?? 0) + 1);
  }
  for (const [key, n] of actions) {
    const [kind, outcome] = key.split('\t') as [string, string];
    metrics.record({
      name: MetricNames.ReconcileActions,
      value: n,
      unit: 'Count',
      dimensions: { Kind: kind, Outcome: outcome },
    });
  }
  const seen = options.standbyGroups;
  const ready = (name: string, value: number) =>
    metrics.record({
      name: MetricNames.StandbysReady,
      value,
      unit: 'None',
      dimensions: { AutoScalingGroupName: name },
    });
  for (const g of result.groups) {
    const settings = g.resolved.settings;
    const name = g.resolved.group.name;
    if (!g.resolved.managed || !settings || settings.standby.size === 0) {
      // A pool that was given up (size 0, opted out) reads 0, not its last count.
      if (seen?.delete(name)) ready(name, 0);
      continue;
    }
    seen?.add(name);
    ready(name, options.standbysFor(name).filter((i) => i.state === 'stopped').length);
  }
  if (options.full && seen) {
    // A group that is gone (deleted, no longer opted in) keeps no standbys either.
    const present = new Set(result.resolved.map((r) => r.group.name));
    for (const name of [...seen])
      if (!present.has(name)) {
        seen.delete(name);
        ready(name, 0);
      }
  }
  // Group counts describe the region: only a full pass sees every group.
  if (!options.full) return;
  // A problem comes from resolving (a bad tag) or from planning (no volume at the device).
  const withProblems = new Set(
    result.groups.filter((g) => g.problems.length > 0).map((g) => g.resolved.group.name),
  );
  let managed = 0;
  for (const r of result.resolved) {
    if (r.managed) managed++;
    if (r.problems.length > 0) withProblems.add(r.group.name);
  }
  const counts = { managed, unmanaged: result.resolved.length - managed, problem: withProblems.size };
  for (const [state, value] of Object.entries(counts))
    metrics.record({ name: MetricNames.Groups, value, unit: 'None', dimensions: { State: state } });
}
