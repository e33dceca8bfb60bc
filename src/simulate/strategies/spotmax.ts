import { loadPolicies, type PolicySet } from '../../config/load.js';
import { resolveGroups } from '../../config/resolve.js';
import type { ResolvedGroup } from '../../config/resolved.js';
import {
  createInterruptionController,
  type InterruptionController,
} from '../../controllers/interruption/controller.js';
import { createDirectory } from '../../controllers/interruption/directory.js';
import { volumeLaunchPreparer } from '../../controllers/reconcile/launch-volume.js';
import { ReconcileLoop } from '../../controllers/reconcile/loop.js';
import { createStandbyHook } from '../../controllers/reconcile/standby-hook.js';
import { STANDBY_FOR_TAG } from '../../domain/tags.js';
import type { Group, Instance } from '../../domain/types.js';
import { NoopReleaser } from '../../release/noop.js';
import type { Strategy, StrategyContext } from './types.js';

// spotmax's real controllers against the simulated region: the interruption fast path on the queue
// (with the standby hook and the launch-volume preparer), and the reconcile loop, whose passes run on
// the virtual clock: ReconcileLoop's own schedule is node-cron (wall time), so the full pass is called
// here every interval instead, while its requeues and backoffs already wait on the injected clock.
// The simulated region has no Kubernetes or Consul, so release steps are no-ops; the rest is production code.

export interface SpotmaxRuntime {
  controller: InterruptionController;
  loop: ReconcileLoop<PolicySet>;
  /** Full passes started so far, and action results by kind. */
  passes: number;
  actionCounts: Record<string, number>;
  failedActions: number;
}

export function spotmaxStrategy(ctx: StrategyContext, onRuntime?: (rt: SpotmaxRuntime) => void): Strategy {
  const { region, logger } = ctx;
  const { cloud, clock } = region;
  const settings = region.scenario.spotmax;
  const stopping = new AbortController();
  const noop = [new NoopReleaser()];
  let policies: PolicySet = { policies: [], issues: [], rejected: [], files: [] };
  const memoResolve = memoizedResolve();
  const resolve = (groups: Group[]) => memoResolve(groups, policies);
  const directory = createDirectory({ cloud, resolve, clock, ttlMs: 5_000 });
  let standbys = new Map<string, Instance[]>();
  const actionCounts: Record<string, number> = {};
  let failedActions = 0;
  const loop = new ReconcileLoop<PolicySet>({
    cloud,
    clock,
    logger: logger.child({ component: 'reconcile' }),
    loadPolicies: () => policies,
    resolve: memoResolve,
    releasersFor: () => noop,
    dryRun: false,
    onPass: (result, latest) => {
      // A per-group pass reports one group: the directory needs every group's latest resolution.
      directory.update(loop.latest()?.resolved ?? result.groups.map((g) => g.resolved), latest.instances);
      const next = new Map<string, Instance[]>();
      for (const s of latest.standbys) {
        const owner = s.tags[STANDBY_FOR_TAG];
        if (owner) next.set(owner, [...(next.get(owner) ?? []), s]);
      }
      standbys = next;
      for (const g of result.groups) {
        for (const r of g.results) {
          if (r.status === 'done') actionCounts[r.action.kind] = (actionCounts[r.action.kind] ?? 0) + 1;
          if (r.status === 'failed') failedActions++;
        }
      }
    },
  });
  const interruptionLogger = logger.child({ component: 'interruption' });
  const controller = createInterruptionController({
    cloud,
    clock,
    logger: interruptionLogger,
    queueUrls: [region.queueUrl],
    pollers: settings.pollers,
    concurrency: settings.concurrency,
    dryRun: false,
    directory,
    releasersFor: () => noop,
    onGroupTouched: (name) => loop.requeue(name),
    standby: createStandbyHook({
      cloud,
      clock,
      logger: interruptionLogger,
      standbysFor: (name) => standbys.get(name) ?? [],
    }),
    prepareLaunch: volumeLaunchPreparer({ cloud, clock, logger: interruptionLogger }),
  });
  const rt: SpotmaxRuntime = { controller, loop, passes: 0, actionCounts, failedActions };
  onRuntime?.(rt);
  let ticker: Promise<void> | undefined;

  return {
    name: 'spotmax',
    async start() {
      if (ctx.policiesDir) policies = await loadPolicies([ctx.policiesDir]);
      for (const issue of policies.issues) logger.warn({ issue }, 'policy problem');
      controller.start();
      // The first full pass runs at once; start() itself must not wait on the virtual clock.
      ticker = (async () => {
        const interval = settings.reconcileIntervalSeconds * 1000;
        while (!stopping.signal.aborted) {
          rt.passes++;
          await loop.runOnce();
          rt.failedActions = failedActions;
          await clock.sleep(interval, stopping.signal).catch(() => undefined);
        }
      })();
    },
    async stop() {
      stopping.abort();
      await ticker;
      await loop.stop();
      await controller.stop(5_000);
    },
    actions: () => {
      const s = controller.stats();
      return { ...actionCounts, 'interruption-release': s.released, 'interruption-detach': s.detached };
    },
  };
}

/**
 * resolveGroups, remembered per group while what resolution reads (name, tags, launch template refs)
 * and the policy set stay the same: a simulated day runs thousands of passes over unchanged groups,
 * and resolving each again would dominate the run. The result carries the current group.
 */
export function memoizedResolve(): (groups: Group[], policies: PolicySet) => ResolvedGroup[] {
  let forPolicies: PolicySet | undefined;
  const cache = new Map<string, ResolvedGroup>();
  return (groups, policies) => {
    if (forPolicies !== policies) {
      cache.clear();
      forPolicies = policies;
    }
    return groups.map((group) => {
      const key = JSON.stringify([
        group.name,
        group.tags,
        group.launchTemplate,
        group.mixedInstancesPolicy?.launchTemplate,
        group.launchConfigurationName,
      ]);
      let resolved = cache.get(key);
      if (!resolved) {
        resolved = resolveGroups([group], policies)[0]!;
        cache.set(key, resolved);
      }
      return resolved.group === group ? resolved : { ...resolved, group };
    });
  };
}
