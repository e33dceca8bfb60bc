import type { ReconcileResult } from '../controllers/reconcile/pass.js';
import type { Instance } from '../domain/types.js';
import type { MetricsPort } from '../ports/metrics.js';
import { ProblemTracker, passNotices } from './notices.js';
import type { Notifier } from './notifier.js';
import { recordPassResult, recordPassTiming } from './reconcile-metrics.js';

/**
 * What each reconcile pass tells the outside: its metrics and its notifications (actions taken,
 * problems that appeared or went). The composition root hands the two callbacks to the loop.
 */
export function passReporting(deps: {
  metrics: MetricsPort;
  notifier: Notifier;
  standbysFor: (group: string) => readonly Instance[];
  /** Only the leader publishes problems: followers plan the same region and would repeat them. */
  isLeader: () => boolean;
}) {
  const problems = new ProblemTracker();
  const standbyGroups = new Set<string>();
  return {
    onPassTimed: (pass: { full: boolean; ok: boolean; seconds: number }) =>
      recordPassTiming(deps.metrics, pass),
    onPass: (result: ReconcileResult, groupNames: readonly string[] | undefined) => {
      const full = !groupNames;
      recordPassResult(deps.metrics, result, { full, standbysFor: deps.standbysFor, standbyGroups });
      if (!deps.isLeader()) return;
      for (const notice of passNotices(result, problems, { full })) deps.notifier.notify(notice);
    },
  };
}
