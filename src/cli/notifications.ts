import { createAwsNotifications } from '../aws/events.js';
import type { ReconcileResult } from '../controllers/reconcile/pass.js';
import { UserError } from '../domain/errors.js';
import { ProblemTracker, passNotices } from '../observability/notices.js';
import { createNotifier } from '../observability/notifier.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { noMetrics } from '../ports/metrics.js';
import type { NotificationsPort } from '../ports/notifications.js';
import type { SimEventBus } from '../sim/events.js';
import type { Env } from './io.js';
import { awsSettings } from './runtime.js';

// Where `run` and `apply` publish spotmax's events: on by default, on the account's default
// EventBridge bus (where AWS's own events arrive and operators already keep rules); `--events-bus NAME`
// (or SPOTMAX_EVENTS_BUS) picks another bus by name or ARN; `--no-events` publishes nothing. A dry run
// never publishes (the service and publishPass see to it).

export interface EventsFlags {
  /** false with --no-events. */
  events?: boolean;
  eventsBus?: string;
  region?: string;
}

export function notificationsFor(
  opts: EventsFlags,
  env: Env,
  simEvents?: SimEventBus,
): NotificationsPort | undefined {
  const bus = opts.eventsBus ?? (env.SPOTMAX_EVENTS_BUS || undefined);
  if (opts.events === false) {
    if (opts.eventsBus !== undefined)
      throw new UserError('--events-bus and --no-events contradict each other; keep one');
    return undefined;
  }
  if (simEvents) return bus ? simEvents.named(bus) : simEvents;
  return createAwsNotifications({ ...awsSettings(opts, env), ...(bus ? { bus } : {}) });
}

/** `apply`: the pass's actions and problems on the bus, as `run` publishes them; waits until sent. */
export async function publishPass(
  result: ReconcileResult,
  port: NotificationsPort | undefined,
  deps: {
    dryRun: boolean;
    clock: Clock;
    logger: Logger;
    region: string;
    drive<T>(p: Promise<T>): Promise<T>;
  },
): Promise<void> {
  if (!port || deps.dryRun) return;
  const notifier = createNotifier({
    port,
    clock: deps.clock,
    logger: deps.logger,
    metrics: noMetrics,
    region: deps.region,
  });
  for (const n of passNotices(result, new ProblemTracker(), { full: true })) notifier.notify(n);
  await deps.drive(notifier.flush());
}
