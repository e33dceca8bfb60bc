import type { ResolvedGroup } from '../../config/resolved.js';
import type { GroupSettings } from '../../config/schema.js';
import type { Action } from '../../domain/actions.js';
import { describeError } from '../../domain/errors.js';
import type { Group, Observation } from '../../domain/types.js';
import { planGroup } from '../../plan/group.js';
import { activeInstanceRefresh } from '../../plan/instance-refresh.js';
import { planOrphanStandbys } from '../../plan/orphans.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { Releaser } from '../../ports/releaser.js';
import { yieldToEventLoop } from '../../timing/yield.js';
import { ActionExecutor, type ActionHandlers, type ActionResult } from './executor.js';
import { gatherExtras, makesVoluntaryReplacements, readInstanceRefreshes } from './gather.js';
import { reconcileHandlers } from './handlers/index.js';
import { type ObserveOptions, observe as observeRegion } from './observe.js';

// One reconcile pass: observe -> resolve -> plan -> (execute). `spotmax plan` runs it without
// executing, `spotmax apply` with, and the loop runs it on a schedule and after events.

export type ObserveFn = (cloud: Cloud, clock: Clock, opts?: ObserveOptions) => Promise<Observation>;
export type ReleasersFor = (groupName: string, settings: GroupSettings) => Releaser[];

export interface ReconcileDeps<P = unknown> {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** The current policy set (re-read by the caller when files change). */
  loadPolicies: () => P;
  resolve: (groups: Group[], policies: P) => ResolvedGroup[];
  releasersFor?: ReleasersFor;
  /** Log actions instead of taking them (a group's own `dryRun` setting also counts). */
  dryRun: boolean;
  /** What each group's last dry run said (ExecContext.dryRunSaid); the loop keeps one across passes. */
  dryRunSaid?: Map<string, Set<string>>;
  /** Defaults to the region observer; tests and the simulator may pass their own. */
  observe?: ObserveFn;
  handlers?: ActionHandlers;
  /** How long release steps may take when retiring an instance voluntarily; default drainTimeoutSeconds + 30 s. */
  releaseTimeoutMs?: number;
  /** The leader lease epoch the actions are taken at, for their log lines (ExecContext.leaseEpoch). */
  leaseEpoch?: () => number | undefined;
}

export interface GroupOutcome {
  resolved: ResolvedGroup;
  actions: Action[];
  problems: string[];
  /** Empty when the pass only planned. */
  results: ActionResult[];
  /** Something is in progress: look again this soon. */
  requeueAfterSeconds?: number;
}

export interface ReconcileResult {
  observation: Observation;
  /** Every group observed, resolved (the groups this pass skipped included). */
  resolved: ResolvedGroup[];
  groups: GroupOutcome[];
  /** Standbys of groups that no longer exist (full passes only), and what became of them. */
  orphans: { actions: Action[]; results: ActionResult[] };
}

export interface PassOptions {
  /** Act (apply, run) or only plan. */
  execute: boolean;
  /** Only these groups. */
  groupNames?: string[];
  /** Leave a group out of this pass (in backoff, terminal, or another pass holds it). */
  skip?: (resolved: ResolvedGroup) => boolean;
  /**
   * Asked before each group: true (the service is stopping) ends the pass there, the groups not reached
   * left for the next process. Groups act one after another, and in a throttling storm each one's
   * actions wait out retries: a full pass over 500 groups outlasted an hour of virtual time, and a stop
   * waited for all of it (issue 16: the 24-hour run never got past its stop).
   */
  stopping?: () => boolean;
}

/** Plans, and with `execute` acts on, every group `resolve` returns. Groups run one after another. */
export async function reconcileOnce<P>(
  deps: ReconcileDeps<P>,
  options: PassOptions = { execute: false },
): Promise<ReconcileResult> {
  const observe = deps.observe ?? observeRegion;
  const observation = await observe(
    deps.cloud,
    deps.clock,
    options.groupNames ? { groupNames: options.groupNames } : {},
  );
  const resolved = deps.resolve(observation.groups, deps.loadPolicies());
  const active = resolved.filter((r) => !options.skip?.(r));
  // Acting passes read instance refreshes only where a voluntary replacement would begin (below).
  const extras = await gatherExtras(deps.cloud, observation, active, options.groupNames, {
    instanceRefreshes: !options.execute,
  });
  const now = deps.clock.now();
  const handlers = deps.handlers ?? reconcileHandlers();
  const groups: GroupOutcome[] = [];
  for (const r of active) {
    if (options.stopping?.()) break;
    const extra = extras.get(r.group.name);
    const input: Parameters<typeof planGroup>[0] = { resolved: r, observation, now };
    if (extra?.activities) input.activities = extra.activities;
    if (extra?.snapshots) input.snapshots = extra.snapshots;
    if (extra?.instanceRefreshes) input.instanceRefreshes = extra.instanceRefreshes;
    if (extra?.launchTemplate) input.launchTemplate = extra.launchTemplate;
    if (extra?.standbyFacts) input.standbyFacts = extra.standbyFacts;
    if (extra?.outsiders.length) input.outsiders = extra.outsiders;
    let plan = planGroup(input);
    if (extra && input.instanceRefreshes === undefined && startsVoluntaryReplacement(plan.actions, r)) {
      await readInstanceRefreshes(deps.cloud, r, extra);
      if (extra.instanceRefreshes) {
        input.instanceRefreshes = extra.instanceRefreshes;
        if (activeInstanceRefresh(extra.instanceRefreshes)) plan = planGroup(input);
      }
    }
    const outcome: GroupOutcome = {
      resolved: r,
      actions: plan.actions,
      problems: [...(extra?.problems ?? []), ...plan.problems],
      results: [],
    };
    if (plan.requeueAfterSeconds !== undefined) outcome.requeueAfterSeconds = plan.requeueAfterSeconds;
    if (options.execute && r.managed && r.settings && plan.actions.length > 0) {
      outcome.results = await executeGroup(deps, handlers, r, plan.actions);
    } else if (groups.length + 1 < active.length) {
      // Planning 500 groups back to back holds the event loop for hundreds of ms, and the fast path
      // shares it: a Spot warning received meanwhile would wait for the whole pass. One turn of the
      // loop between groups (no call, no timer) keeps that wait to one group's planning.
      await yieldToEventLoop(deps.clock);
    }
    groups.push(outcome);
  }
  const orphans = {
    actions: options.groupNames ? [] : planOrphanStandbys(observation, now),
    results: [] as ActionResult[],
  };
  if (options.execute && orphans.actions.length > 0 && !options.stopping?.()) {
    const executor = new ActionExecutor(handlers, {
      cloud: deps.cloud,
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.leaseEpoch ? { leaseEpoch: deps.leaseEpoch } : {}),
    });
    orphans.results = await executor.execute(orphans.actions, { dryRun: deps.dryRun });
  }
  return { observation, resolved, groups, orphans };
}

async function executeGroup<P>(
  deps: ReconcileDeps<P>,
  handlers: ActionHandlers,
  r: ResolvedGroup,
  actions: Action[],
): Promise<ActionResult[]> {
  const settings = r.settings!;
  const logger = deps.logger.child({ group: r.group.name });
  let releasers: Releaser[] = [];
  try {
    releasers = deps.releasersFor?.(r.group.name, settings) ?? [];
  } catch (err) {
    logger.error(
      { err: describeError(err) },
      `building the release steps of ${r.group.name} failed; retiring without them`,
    );
  }
  const executor = new ActionExecutor(handlers, {
    cloud: deps.cloud,
    clock: deps.clock,
    logger,
    releasers,
    // A voluntary retirement is not racing a Spot warning: the drain gets its full configured time.
    releaseTimeoutMs: deps.releaseTimeoutMs ?? (settings.kubernetes.drainTimeoutSeconds + 30) * 1000,
    ...(deps.dryRunSaid ? { dryRunSaid: deps.dryRunSaid } : {}),
    ...(deps.leaseEpoch ? { leaseEpoch: deps.leaseEpoch } : {}),
  });
  return executor.execute(actions, { dryRun: deps.dryRun || settings.dryRun });
}

/** A new voluntary replacement (not the resumption of one under way) in a group that makes them. */
function startsVoluntaryReplacement(actions: readonly Action[], r: ResolvedGroup): boolean {
  return (
    makesVoluntaryReplacements(r) &&
    actions.some((a) => a.kind === 'replacement-add-capacity' && a.resumeSince === undefined)
  );
}
