import { loadPolicies, type PolicySet } from '../../config/load.js';
import { resolveGroups } from '../../config/resolve.js';
import type { ResolvedGroup } from '../../config/resolved.js';
import {
  createInterruptionController,
  type InterruptionController,
} from '../../controllers/interruption/controller.js';
import { createDirectory } from '../../controllers/interruption/directory.js';
import { reconcileOnce } from '../../controllers/reconcile/pass.js';
import { describeError } from '../../domain/errors.js';
import type { Group } from '../../domain/types.js';
import { NoopReleaser } from '../../release/noop.js';
import type { Strategy, StrategyContext } from './types.js';

// spotmax's real controllers against the simulated region: the interruption fast path on the queue,
// and reconcile passes on the virtual clock (every interval, sooner after the fast path touched a
// group or a planner asked to look again). The simulated region has no Kubernetes or Consul, so
// release steps are no-ops; everything else is the production code.

export interface SpotmaxRuntime {
  controller: InterruptionController;
  /** Reconcile passes run so far and action results by kind. */
  passes: number;
  actionCounts: Record<string, number>;
  failedActions: number;
  lastResolved: ResolvedGroup[];
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
  let soon: number | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const rt: SpotmaxRuntime = {
    controller: createInterruptionController({
      cloud,
      clock,
      logger: logger.child({ component: 'interruption' }),
      queueUrls: [region.queueUrl],
      pollers: settings.pollers,
      concurrency: settings.concurrency,
      dryRun: false,
      directory,
      releasersFor: () => noop,
      onGroupTouched: () => requestPass(2_000),
    }),
    passes: 0,
    actionCounts: {},
    failedActions: 0,
    lastResolved: [],
  };
  onRuntime?.(rt);

  function requestPass(inMs: number): void {
    const at = clock.now().getTime() + inMs;
    if (soon === undefined || at < soon) {
      soon = at;
      wake?.();
    }
  }

  const pass = async () => {
    rt.passes++;
    const result = await reconcileOnce(
      {
        cloud,
        clock,
        logger: logger.child({ component: 'reconcile' }),
        loadPolicies: () => policies,
        resolve: memoResolve,
        releasersFor: () => noop,
        dryRun: false,
      },
      { execute: true },
    );
    rt.lastResolved = result.groups.map((g) => g.resolved);
    directory.update(rt.lastResolved, result.observation.instances);
    for (const g of result.groups) {
      for (const r of g.results) {
        if (r.status === 'done') rt.actionCounts[r.action.kind] = (rt.actionCounts[r.action.kind] ?? 0) + 1;
        if (r.status === 'failed') rt.failedActions++;
      }
      if (g.requeueAfterSeconds !== undefined) requestPass(g.requeueAfterSeconds * 1000);
    }
  };

  return {
    name: 'spotmax',
    async start() {
      if (ctx.policiesDir) policies = await loadPolicies([ctx.policiesDir]);
      for (const issue of policies.issues) logger.warn({ issue }, 'policy problem');
      rt.controller.start();
      // The loop's first pass runs at once; start() itself must not wait on the virtual clock.
      loop = (async () => {
        const interval = settings.reconcileIntervalSeconds * 1000;
        let next = clock.now().getTime();
        while (!stopping.signal.aborted) {
          const due = Math.min(next, soon ?? next);
          const waitMs = due - clock.now().getTime();
          if (waitMs > 0) {
            const woken = new AbortController();
            wake = () => woken.abort();
            const onStop = () => woken.abort();
            stopping.signal.addEventListener('abort', onStop, { once: true });
            await clock.sleep(waitMs, woken.signal).catch(() => undefined);
            stopping.signal.removeEventListener('abort', onStop);
            wake = undefined;
            continue;
          }
          if (stopping.signal.aborted) break;
          soon = undefined;
          next = clock.now().getTime() + interval;
          // A failed pass (throttled observe, say) is logged; the next one comes at the next interval.
          await pass().catch((err) => logger.warn({ err: describeError(err) }, 'reconcile pass failed'));
        }
      })();
    },
    async stop() {
      stopping.abort();
      await loop;
      await rt.controller.stop(5_000);
    },
    actions: () => {
      const s = rt.controller.stats();
      return { ...rt.actionCounts, 'interruption-release': s.released, 'interruption-detach': s.detached };
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
