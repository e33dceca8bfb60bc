import { dryRunCloud } from '../app/guarded-cloud.js';
import { isOptedIn } from '../app/resolve.js';
import type { PolicySet } from '../config/load.js';
import { resolveGroups } from '../config/resolve.js';
import { globMatch } from '../config/select.js';
import { type ReconcileResult, reconcileOnce } from '../controllers/reconcile/pass.js';
import type { Clock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import { noMetrics } from '../ports/metrics.js';
import { createReleaserFactory, releaseProblems } from '../release/factory.js';
import type { Env } from './io.js';
import { buildPlanReport, type GroupPlan, type PlanReport } from './plan-report.js';

export interface PassRequest {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  policies: PolicySet;
  env: Env;
  /** Act (apply) or only plan. */
  execute: boolean;
  dryRun: boolean;
  /** Only groups whose name matches one of these globs (`--group`); none: every opted-in group. */
  groups?: string[];
}

/** A group named by `--group` (a name or a glob such as `web-*`); every group when none is given. */
export const groupSelected = (patterns: string[] | undefined, name: string) =>
  !patterns || patterns.length === 0 || patterns.some((p) => globMatch(p, name));

/**
 * One reconcile pass over the opted-in groups, the same code the service runs, and the report `plan`
 * prints. Problems with release settings (an unreadable kubeconfig, a missing Consul token) are added
 * so they show before an interruption finds them.
 */
export async function computePass(
  req: PassRequest,
): Promise<{ result: ReconcileResult; plans: GroupPlan[]; report: PlanReport }> {
  const releasersFor = createReleaserFactory({
    clock: req.clock,
    logger: req.logger,
    metrics: noMetrics,
    env: req.env,
    eks: req.cloud.eks,
  });
  const result = await reconcileOnce(
    {
      // plan and apply --dry-run get a cloud that refuses every change (app/dry-run.ts).
      cloud: req.dryRun ? dryRunCloud(req.cloud, req.logger) : req.cloud,
      clock: req.clock,
      logger: req.logger,
      loadPolicies: () => req.policies,
      // --group narrows the pass before anything is planned: other groups are neither planned nor acted on.
      resolve: (groups, policies: PolicySet) =>
        resolveGroups(groups, policies).filter(
          (r) => isOptedIn(r) && groupSelected(req.groups, r.group.name),
        ),
      releasersFor,
      dryRun: req.dryRun,
    },
    { execute: req.execute },
  );
  const plans = result.groups.map((g) => ({
    resolved: g.resolved,
    actions: g.actions,
    problems: [...g.problems, ...(g.resolved.settings ? releaseProblems(g.resolved.settings, req.env) : [])],
  }));
  // Orphans belong to no live group: a plan narrowed to some groups leaves them out.
  const orphans = req.groups?.length ? [] : result.orphans.actions;
  return { result, plans, report: buildPlanReport(result.observation, plans, orphans) };
}
