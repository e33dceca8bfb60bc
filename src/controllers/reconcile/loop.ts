import type { ResolvedGroup } from '../../config/resolved.js';
import { describeError } from '../../domain/errors.js';
import type { Instance } from '../../domain/types.js';
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from '../../timing/backoff.js';
import { type GroupOutcome, type ReconcileDeps, type ReconcileResult, reconcileOnce } from './pass.js';
import { RegionView } from './region-view.js';
import { type CronSchedule, cronSchedule } from './schedule.js';

// The reconcile loop: a pass over every group on a cron schedule (waited for on the injected clock), and a pass for one group soon after
// an event touches it or a planner asks to look again (a replacement waiting for InService). One pass
// at a time per group; a group whose actions failed backs off exponentially; a group that failed for a
// reason retrying cannot fix (terminal) is left alone until its configuration changes.

export interface ReconcileLoopDeps<P> extends ReconcileDeps<P> {
  /** Cron expression (`--interval`); default every minute. */
  schedule?: string;
  /** Delay before a requeued pass, so a burst of events for a group makes one pass. */
  requeueDelayMs?: number;
  /**
   * Requeued passes are due on a grid of this many ms (default 1000), and the groups due at one grid
   * time share one pass: one read of all of them instead of one per group.
   */
  requeueGridMs?: number;
  backoff?: BackoffOptions;
  /**
   * Called after every pass with the groups it observed (undefined: all of them, a full pass): the fast
   * path's group directory takes in those groups alone.
   */
  onPass?: (result: ReconcileResult, groupNames: readonly string[] | undefined) => void;
  /** Called after every pass that ran, ok or failed, with its duration on the injected clock (metrics). */
  onPassTimed?: (pass: { full: boolean; ok: boolean; seconds: number }) => void;
  /**
   * Whether this replica may act now (it holds the leader lease). When not, passes still observe and plan
   * (the fast path's directory and `plan` stay fresh) but take no action.
   */
  mayAct?: () => boolean;
}

export interface LoopGroupStatus {
  failures: number;
  lastError?: string;
  backoffMs: number;
  terminal?: string;
}

const FULL = '*';
/** Groups in one requeued pass at most: one DescribeAutoScalingGroups page. */
const REQUEUE_BATCH = 100;

export class ReconcileLoop<P> {
  private readonly schedule: CronSchedule;
  private ticking: AbortController | undefined;
  private readonly backoff: Backoff;
  private readonly busy = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly terminal = new Map<string, { reason: string; fingerprint: string }>();
  /** Each requeued group's due time (a grid time); each grid time's groups, and the one wait for them. */
  private readonly timers = new Map<string, number>();
  private readonly slots = new Map<number, { names: Set<string>; abort: AbortController }>();
  private fullPass: Promise<ReconcileResult | undefined> | undefined;
  private readonly view = new RegionView();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  /** What dry-run passes said per group, so the next pass repeats only what changed. */
  private readonly dryRunSaid = new Map<string, Set<string>>();

  constructor(private readonly deps: ReconcileLoopDeps<P>) {
    this.backoff = new Backoff(deps.backoff ?? DEFAULT_BACKOFF);
    this.schedule = cronSchedule(deps.schedule ?? '* * * * *');
  }

  /** Starts the schedule (the first pass comes at the first run time; call runOnce() for one now). */
  start(): void {
    this.stopped = false;
    this.ticking?.abort();
    const ticking = new AbortController();
    this.ticking = ticking;
    this.track(this.tick(ticking.signal));
  }

  /**
   * Stops scheduling, cancels requeues and waits for the passes in progress to finish the group they are
   * acting on (each records its steps, so the next process resumes where this one stopped).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ticking?.abort(new Error('reconcile loop stopped'));
    this.ticking = undefined;
    for (const slot of this.slots.values()) slot.abort.abort(new Error('reconcile loop stopped'));
    this.slots.clear();
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  /** A pass over every group (those busy, backing off or terminal are left out). Never throws. */
  runOnce(): Promise<ReconcileResult | undefined> {
    if (this.fullPass) return this.fullPass;
    this.fullPass = this.pass(undefined).finally(() => {
      this.fullPass = undefined;
    });
    // stop() waits for it, however it was started (the schedule, a policy change, the service's start).
    this.track(this.fullPass);
    return this.fullPass;
  }

  /**
   * Runs a pass for `groupName` soon (after an event, or when a planner asked to look again). The time is
   * rounded up to the requeue grid, and every group due at that grid time is observed and planned in one
   * pass: during a fleet-wide replacement wave, 500 groups each looking again every 20 s made 25 one-group
   * passes a second, each with its own DescribeAutoScalingGroups and DescribeInstances reads, past EC2's
   * non-mutating rate (20 a second) — 40 % of calls throttled, the replacements' own writes among them.
   */
  requeue(groupName: string, afterMs: number = this.deps.requeueDelayMs ?? 2_000): void {
    if (this.stopped) return;
    const now = this.deps.clock.now().getTime();
    const grid = this.deps.requeueGridMs ?? 1_000;
    // A follow-up with no delay runs at once, off the grid.
    const at = afterMs <= 0 ? now : Math.ceil((now + afterMs) / grid) * grid;
    const existing = this.timers.get(groupName);
    if (existing !== undefined && existing <= at) return;
    if (existing !== undefined) this.slots.get(existing)?.names.delete(groupName);
    this.timers.set(groupName, at);
    const slot = this.slots.get(at);
    if (slot) {
      slot.names.add(groupName);
      return;
    }
    const created = { names: new Set([groupName]), abort: new AbortController() };
    this.slots.set(at, created);
    const fire = this.deps.clock.sleep(at - now, created.abort.signal).then(
      () => {
        if (this.slots.get(at) !== created) return;
        this.slots.delete(at);
        const names = [...created.names].filter((name) => this.timers.get(name) === at);
        for (const name of names) this.timers.delete(name);
        return this.runGroups(names);
      },
      () => undefined,
    );
    this.track(fire);
  }

  /** A pass for one group now; when the group is busy, one more pass follows the current one. */
  async runGroup(groupName: string): Promise<GroupOutcome | undefined> {
    if (this.busy.has(groupName)) {
      this.dirty.add(groupName);
      return undefined;
    }
    const passing = this.pass([groupName]);
    this.track(passing);
    const result = await passing;
    return result?.groups.find((g) => g.resolved.group.name === groupName);
  }

  /** One pass for the groups that are not busy (a busy one gets its follow-up after its current pass). */
  private async runGroups(names: readonly string[]): Promise<void> {
    const ready: string[] = [];
    for (const name of names) {
      if (this.busy.has(name)) this.dirty.add(name);
      else ready.push(name);
    }
    // DescribeAutoScalingGroups names at most 100 groups a call.
    for (let i = 0; i < ready.length; i += REQUEUE_BATCH) await this.pass(ready.slice(i, i + REQUEUE_BATCH));
  }

  /**
   * Each group's resolution as last observed (a copy: for readers outside the passes). `complete` once a
   * full pass has succeeded: before that, the view holds only the groups of one-group passes, and a
   * reader must not take a group's absence as "not managed".
   */
  latest(): { resolved: ResolvedGroup[]; complete: boolean } | undefined {
    if (this.view.empty) return undefined;
    return { resolved: this.view.groups(), complete: this.view.complete };
  }

  /** The stopped standbys of a group as last observed (the fast path's standby hook swaps them in). */
  standbysFor(groupName: string): readonly Instance[] {
    return this.view.standbysFor(groupName);
  }

  status(groupName: string): LoopGroupStatus {
    const now = this.deps.clock.now().getTime();
    const b = this.backoff.state(groupName);
    const out: LoopGroupStatus = {
      failures: b?.failures ?? 0,
      backoffMs: this.backoff.remaining(groupName, now),
    };
    if (b) out.lastError = b.lastError;
    const t = this.terminal.get(groupName);
    if (t) out.terminal = t.reason;
    return out;
  }

  /**
   * Waits for each run time of the schedule and runs a full pass then. A pass still running at the next
   * run time makes that run wait for it (never two full passes at once); run times missed meanwhile are
   * not made up.
   */
  private async tick(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.deps;
    while (!signal.aborted) {
      const now = clock.now();
      const next = this.schedule.next(now);
      if (!next) {
        logger.warn({ interval: this.schedule.expression }, 'the reconcile schedule has no further run time');
        return;
      }
      try {
        await clock.sleep(next.getTime() - now.getTime(), signal);
      } catch {
        return;
      }
      await this.runOnce();
    }
  }

  private track<T>(p: Promise<T>): void {
    this.running.add(p);
    p.finally(() => this.running.delete(p)).catch(() => undefined);
  }

  private skip(r: ResolvedGroup, now: number): boolean {
    const name = r.group.name;
    if (this.busy.has(name)) {
      this.dirty.add(name);
      return true;
    }
    if (this.backoff.remaining(name, now) > 0) return true;
    const t = this.terminal.get(name);
    if (t) {
      if (t.fingerprint === fingerprint(r)) return true;
      this.terminal.delete(name);
    }
    this.busy.add(name);
    return false;
  }

  private async pass(groupNames: string[] | undefined): Promise<ReconcileResult | undefined> {
    const key = groupNames ? groupNames.join(',') : FULL;
    const { clock, logger } = this.deps;
    if (this.backoff.remaining(FULL, clock.now().getTime()) > 0) return undefined;
    const held = new Set<string>();
    const startedAt = clock.now().getTime();
    const timed = (ok: boolean) =>
      this.deps.onPassTimed?.({ full: !groupNames, ok, seconds: (clock.now().getTime() - startedAt) / 1000 });
    let result: ReconcileResult;
    const passDeps = { dryRunSaid: this.dryRunSaid, ...this.deps };
    try {
      result = await reconcileOnce(passDeps, {
        execute: this.deps.mayAct?.() ?? true,
        ...(groupNames ? { groupNames } : {}),
        stopping: () => this.stopped,
        skip: (r) => {
          const skipped = this.skip(r, clock.now().getTime());
          if (!skipped) held.add(r.group.name);
          return skipped;
        },
      });
    } catch (err) {
      const wait = this.backoff.fail(FULL, clock.now().getTime(), describeError(err));
      logger.error({ err: describeError(err), groups: key, retryInMs: wait }, 'reconcile pass failed');
      for (const name of held) this.busy.delete(name);
      timed(false);
      return undefined;
    }
    timed(true);
    this.backoff.succeed(FULL);
    this.view.apply(result.observation, result.resolved, groupNames);
    for (const g of result.groups) this.settle(g);
    for (const name of held) this.busy.delete(name);
    try {
      this.deps.onPass?.(result, groupNames);
    } catch (err) {
      logger.error({ err: describeError(err) }, 'onPass listener failed');
    }
    for (const name of held) {
      if (this.dirty.delete(name)) this.requeue(name, 0);
    }
    return result;
  }

  private settle(g: GroupOutcome): void {
    const name = g.resolved.group.name;
    const now = this.deps.clock.now().getTime();
    const terminal = g.results.find((r) => r.terminal);
    if (terminal) {
      this.terminal.set(name, {
        reason: terminal.error ?? 'terminal failure',
        fingerprint: fingerprint(g.resolved),
      });
      this.deps.logger.error(
        { group: name, err: terminal.error },
        `${name}: not retried until its configuration changes`,
      );
      return;
    }
    const failed = g.results.filter((r) => r.status === 'failed' || r.status === 'unsupported');
    if (failed.length > 0) {
      const wait = this.backoff.fail(name, now, failed.map((f) => f.error).join('; '));
      this.deps.logger.warn(
        { group: name, failed: failed.length, retryInMs: wait },
        `${name}: ${failed.length} action(s) failed; backing off`,
      );
      this.requeue(name, wait);
      return;
    }
    this.backoff.succeed(name);
    if (g.requeueAfterSeconds !== undefined) this.requeue(name, g.requeueAfterSeconds * 1000);
  }
}

/** What must change for a terminal group to be tried again: its configuration. */
function fingerprint(r: ResolvedGroup): string {
  const g = r.group;
  return JSON.stringify([
    r.managed,
    r.settings,
    g.launchTemplate,
    g.mixedInstancesPolicy,
    g.launchConfigurationName,
    g.tags,
  ]);
}
