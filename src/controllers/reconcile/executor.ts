import type { Action, ActionKind, ActionOf } from '../../domain/actions.js';
import { describeError, TerminalError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { Releaser } from '../../ports/releaser.js';

export interface ExecContext {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** The group's release steps (Kubernetes drain, Consul), for retiring an instance. None: nothing to release. */
  releasers?: readonly Releaser[];
  /** How long the release steps of a voluntary retirement may take. */
  releaseTimeoutMs?: number;
}

export type ActionHandler<K extends ActionKind> = (action: ActionOf<K>, ctx: ExecContext) => Promise<void>;
export type ActionHandlers = { [K in ActionKind]?: ActionHandler<K> };

export interface ActionResult {
  action: Action;
  status: 'done' | 'dry-run' | 'failed' | 'unsupported';
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
    const results: ActionResult[] = [];
    for (const action of actions) results.push(await this.executeOne(action, options.dryRun));
    return results;
  }

  private async executeOne(action: Action, dryRun: boolean): Promise<ActionResult> {
    const log = this.ctx.logger.child({ group: action.group, action: action.kind, target: action.target });
    if (dryRun) {
      log.info({ reason: action.reason, dryRun: true }, `would ${action.kind} ${action.target}`);
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
      const error = describeError(err);
      log.error({ err: error }, `${action.kind} ${action.target} failed`);
      return err instanceof TerminalError
        ? { action, status: 'failed', error, terminal: true }
        : { action, status: 'failed', error };
    }
  }
}
