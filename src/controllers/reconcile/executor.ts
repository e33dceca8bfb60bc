import type { Action, ActionKind, ActionOf } from '../../domain/actions.js';
import { describeError, notLeaderRefusal, TerminalError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { Releaser } from '../../ports/releaser.js';

/** Instances per CreateTags call: the API takes 1,000 and AWS recommends smaller batches. */
const TAG_BATCH = 200;

export interface ExecContext {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** The group's release steps (Kubernetes drain, Consul), for retiring an instance. None: nothing to release. */
  releasers?: readonly Releaser[];
  /** How long the release steps of a voluntary retirement may take. */
  releaseTimeoutMs?: number;
  /**
   * What each group's last dry run said it would do (kept by the long-lived loop): a "would ..." line
   * already said in the previous pass is logged at debug, so a dry-run group does not repeat the same
   * lines every minute (a reason that only ages, "age 51m" then "age 52m", is the same action); an action
   * on a new target or of a new kind is said at info.
   */
  dryRunSaid?: Map<string, Set<string>>;
  /**
   * The leader lease epoch this replica acts at (several replicas on a coordination store), logged with
   * every action so an operator can tell which leader did what; undefined: a single replica.
   */
  leaseEpoch?: () => number | undefined;
}

export type ActionHandler<K extends ActionKind> = (action: ActionOf<K>, ctx: ExecContext) => Promise<void>;
export type ActionHandlers = { [K in ActionKind]?: ActionHandler<K> };

export interface ActionResult {
  action: Action;
  /**
   * refused: not attempted because this replica lost the leader lease (the fencing check said no): the
   * new leader does it, so it is neither a failure to retry nor an error.
   */
  status: 'done' | 'dry-run' | 'failed' | 'unsupported' | 'refused';
  error?: string;
  /** The failure is one retrying will not fix (the group is gone or unsuitable). */
  terminal?: boolean;
}

/**
 * Carries out planned actions. Each kind has its own handler (capabilities register theirs); one failed
 * action is reported and never stops the others. With dryRun, targets are resolved and logged only.
 */
export class ActionExecutor {
  constructor(
    private readonly handlers: ActionHandlers,
    private readonly ctx: ExecContext,
  ) {}

  async execute(actions: Action[], options: { dryRun: boolean }): Promise<ActionResult[]> {
    const results = new Map<Action, ActionResult>();
    if (!options.dryRun) {
      for (const r of await this.tagInBatches(actions)) results.set(r.action, r);
    }
    const said = options.dryRun ? this.ctx.dryRunSaid : undefined;
    const now = new Map<string, Set<string>>();
    for (const action of actions) {
      if (results.has(action)) continue;
      let repeat = false;
      if (said) {
        const key = `${action.kind} ${action.target}`;
        repeat = said.get(action.group)?.has(key) ?? false;
        if (!now.has(action.group)) now.set(action.group, new Set());
        now.get(action.group)!.add(key);
      }
      results.set(action, await this.executeOne(action, options.dryRun, repeat));
    }
    for (const [group, keys] of now) said?.set(group, keys);
    return actions.map((a) => results.get(a)!);
  }

  /**
   * Membership tags are the one action that comes by the thousand (a newly adopted group): EC2 allows
   * about 5 mutating calls a second, so one CreateTags per instance would take minutes to hours.
   * Instances needing the same tags share a call; a batch that fails is retried one by one so a single
   * vanished instance does not fail its neighbours.
   */
  private async tagInBatches(actions: Action[]): Promise<ActionResult[]> {
    const byTags = new Map<string, ActionOf<'tag-instance'>[]>();
    for (const a of actions) {
      if (a.kind !== 'tag-instance') continue;
      const key = JSON.stringify(Object.entries(a.tags).sort());
      byTags.set(key, [...(byTags.get(key) ?? []), a]);
    }
    const results: ActionResult[] = [];
    for (const group of byTags.values()) {
      if (group.length < 2) continue;
      for (let i = 0; i < group.length; i += TAG_BATCH) {
        const batch = group.slice(i, i + TAG_BATCH);
        try {
          await this.ctx.cloud.ec2.createTags(
            batch.map((a) => a.target),
            batch[0]!.tags,
          );
          this.ctx.logger.info(
            {
              group: batch[0]!.group,
              action: 'tag-instance',
              count: batch.length,
              tags: batch[0]!.tags,
              ...this.epoch(),
            },
            `tagged ${batch.length} instances`,
          );
          for (const a of batch) results.push({ action: a, status: 'done' });
        } catch (err) {
          if (notLeaderRefusal(err)) {
            for (const a of batch) results.push(this.refused(a, err));
            continue;
          }
          this.ctx.logger.warn(
            { err: describeError(err), count: batch.length },
            'batched tagging failed; tagging one by one',
          );
          for (const a of batch) results.push(await this.executeOne(a, false));
        }
      }
    }
    return results;
  }

  private async executeOne(action: Action, dryRun: boolean, repeat = false): Promise<ActionResult> {
    const log = this.ctx.logger.child({
      group: action.group,
      action: action.kind,
      target: action.target,
      ...(dryRun ? {} : this.epoch()),
    });
    if (dryRun) {
      (repeat ? log.debug : log.info).call(
        log,
        { reason: action.reason, dryRun: true },
        `would ${action.kind} ${action.target}`,
      );
      return { action, status: 'dry-run' };
    }
    const handler = this.handlers[action.kind] as ActionHandler<typeof action.kind> | undefined;
    if (!handler) {
      log.error({}, `no handler for action kind ${action.kind}`);
      return { action, status: 'unsupported', error: `no handler for ${action.kind}` };
    }
    try {
      await handler(action as never, this.ctx);
      log.info({ reason: action.reason }, `${action.kind} ${action.target}`);
      return { action, status: 'done' };
    } catch (err) {
      if (notLeaderRefusal(err)) return this.refused(action, err);
      const error = describeError(err);
      log.error({ err: error }, `${action.kind} ${action.target} failed`);
      return err instanceof TerminalError
        ? { action, status: 'failed', error, terminal: true }
        : { action, status: 'failed', error };
    }
  }

  /** The lease epoch for a log line, when there is a lease. */
  private epoch(): { epoch?: number } {
    const epoch = this.ctx.leaseEpoch?.();
    return epoch === undefined ? {} : { epoch };
  }

  /** A change the fencing check refused: said at warn with what and why, never as a failed action. */
  private refused(action: Action, err: unknown): ActionResult {
    const refusal = notLeaderRefusal(err);
    // The guard's cause says why (the lease was taken over, the store does not answer).
    const why = refusal?.cause instanceof Error ? refusal.cause.message : 'the lease check failed';
    this.ctx.logger.warn(
      {
        group: action.group,
        action: action.kind,
        target: action.target,
        reason: action.reason,
        why,
        ...this.epoch(),
      },
      `${action.kind} ${action.target} refused: this replica is not the leader (${why}); the leader does it`,
    );
    return { action, status: 'refused', error: describeError(err) };
  }
}
