import { createService, type Service } from '../../app/service.js';
import { loadPoliciesOrFail } from '../../config/load.js';
import { UserError } from '../../domain/errors.js';
import { NoopReleaser } from '../../release/noop.js';
import { scenarioPolicyProblems } from '../policy-check.js';
import type { Strategy, StrategyContext } from './types.js';

// spotmax itself, built by the one composition root (app/service.ts) on the simulated region's cloud and
// virtual clock: the reconcile loop on its cron schedule, the interruption fast path on the region's
// queue, the standby hook and the launch-volume preparer. The simulated region has no Kubernetes or
// Consul, so release steps are no-ops; the rest is production code. Policies load once and must be valid:
// a simulation on the wrong policies would be a silent wrong answer.

const NOOP = [new NoopReleaser()];

export function spotmaxStrategy(ctx: StrategyContext, onService?: (service: Service) => void): Strategy {
  const { region, logger } = ctx;
  const settings = region.scenario.spotmax;
  const actionCounts: Record<string, number> = {};
  const service = createService({
    cloud: region.cloud,
    clock: region.clock,
    logger,
    releasersFor: () => NOOP,
    options: {
      queueUrls: [region.queueUrl],
      pollers: settings.pollers,
      concurrency: settings.concurrency,
      interval: settings.interval,
      graceMs: 5_000,
      dryRun: false,
      ...(ctx.policiesDir ? { policyDir: ctx.policiesDir } : {}),
      watchPolicies: false,
      ...(ctx.allowPolicyProblems ? { allowPolicyProblems: true } : {}),
    },
  });
  service.onPass((result) => {
    for (const g of result.groups)
      for (const r of g.results)
        if (r.status === 'done') actionCounts[r.action.kind] = (actionCounts[r.action.kind] ?? 0) + 1;
  });
  onService?.(service);

  return {
    name: 'spotmax',
    async start() {
      if (ctx.policiesDir && !ctx.allowPolicyProblems) {
        const problems = await scenarioPolicyProblems(region, await loadPoliciesOrFail([ctx.policiesDir]));
        if (problems.length > 0)
          throw new UserError(
            `the scenario's groups do not fit the policies in ${ctx.policiesDir}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
          );
      }
      await service.start();
    },
    stop: () => service.stop(),
    actions: () => {
      const s = service.controller?.stats();
      return {
        ...actionCounts,
        'interruption-release': s?.released ?? 0,
        'interruption-detach': s?.detached ?? 0,
      };
    },
  };
}
