import { describeError, SpotmaxError } from '../../domain/errors.js';
import type { DiscardReason } from '../../domain/events.js';
import { MetricNames } from '../../observability/metric-names.js';
import type { QueueMessage } from '../../ports/queue.js';
import { batchedEc2 } from './batched-ec2.js';
import { type MessageVerdict, QueueConsumer } from './consumer.js';
import type { HandlerContext, HandlerDeps } from './context.js';
import { DedupeStore } from './dedupe-store.js';
import { DetachCoalescer } from './detach-coalescer.js';
import { parseMessageBody, truncateBody } from './envelope.js';
import { handleEvent } from './handle-event.js';
import { KeyedSerializer } from './keyed-serializer.js';
import { emptyStats, type InterruptionStats } from './stats.js';

// The interruption fast path (DESIGN 1.1). consumer.ts long-polls the queues and keeps handlers bounded;
// envelope.ts + registry.ts + messages/ turn a body into events (or a discard reason); handle-event.ts
// serializes them per instance and deduplicates by key; handle-interruption/-lifecycle/-rebalance act;
// detach-coalescer.ts batches the detaches of a group. Effects are idempotent (marker tag on the
// instance), so a message is deleted only when its work is done and redelivery is always safe.

/**
 * How long the first detach of a group waits for company. Ids of one receive batch reach the coalescer
 * within a few ms of each other, so 20 ms catches them while adding little to the detach lag.
 */
export const DEFAULT_COALESCE_WINDOW_MS = 20;

/**
 * Deliveries of a failing message before spotmax gives it up (logged as an error, counted, deleted). The
 * stack's dead-letter redrive uses the same count (maxReceiveCount), so the two agree on when to stop.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface InterruptionDeps extends HandlerDeps {
  queueUrls: string[];
  /** Receive loops per queue. */
  pollers: number;
  /** Messages handled at once. */
  concurrency: number;
  /** Tunables; defaults suit production. */
  options?: {
    coalesceWindowMs?: number;
    dedupeTtlMs?: number;
    releaseMarginMs?: number;
    visibilityTimeoutSeconds?: number;
    waitSeconds?: number;
    /** Deliveries of a failing message before it is given up (deleted, counted as too-many-attempts). */
    maxAttempts?: number;
  };
}

export interface InterruptionController {
  start(): void;
  /** Stops receiving; in-flight work gets `graceMs`; unfinished messages stay on the queue. */
  stop(graceMs: number): Promise<void>;
  stats(): InterruptionStats;
  /** Handles one message body as if received (used by tests and the benchmark). */
  handleMessage(message: QueueMessage, queueUrl: string, signal?: AbortSignal): Promise<MessageVerdict>;
}

export function createInterruptionController(deps: InterruptionDeps): InterruptionController {
  const o = deps.options ?? {};
  const stats = emptyStats();
  const coalescer = new DetachCoalescer({
    autoscaling: deps.cloud.autoscaling,
    clock: deps.clock,
    logger: deps.logger,
    dryRun: deps.dryRun,
    windowMs: o.coalesceWindowMs ?? DEFAULT_COALESCE_WINDOW_MS,
  });
  const { queueUrls: _q, pollers: _p, concurrency: _c, options: _o, ...handlerDeps } = deps;
  const ctx: HandlerContext = {
    ...handlerDeps,
    // The handlers' reads and marker tags are batched while a call is in flight (batched-ec2.ts).
    cloud: { ...deps.cloud, ec2: batchedEc2(deps.cloud.ec2) },
    coalescer,
    // Duplicates arrive within minutes (warning, state-change, lifecycle); the instance tag covers the rest.
    done: new DedupeStore<string>(deps.clock, o.dedupeTtlMs ?? 15 * 60_000),
    stats,
    releaseMarginMs: o.releaseMarginMs ?? 5_000,
  };
  const serializer = new KeyedSerializer();
  const maxAttempts = o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;

  const discardMessage = (
    message: QueueMessage,
    reason: DiscardReason,
    detail: string,
    log: HandlerContext['logger'] = deps.logger,
  ) => {
    stats.discarded[reason] = (stats.discarded[reason] ?? 0) + 1;
    deps.cloud.metrics.record({
      name: MetricNames.EventsDiscarded,
      value: 1,
      unit: 'Count',
      dimensions: { Reason: reason },
    });
    // Bad input is a warning; giving up on work that kept failing is an error.
    const level = reason === 'too-many-attempts' ? 'error' : 'warn';
    log[level](
      { messageId: message.messageId, reason, detail, body: truncateBody(message.body) },
      `discarding message: ${reason}`,
    );
  };

  const handleMessage = async (
    message: QueueMessage,
    _queueUrl: string,
    signal = new AbortController().signal,
  ): Promise<MessageVerdict> => {
    stats.received++;
    stats.inFlight++;
    try {
      const parsed = parseMessageBody(message.body, message.messageId);
      if (!parsed.ok) {
        discardMessage(message, parsed.reason, parsed.detail);
        return deps.dryRun ? 'keep' : 'delete';
      }
      // Every line about one event carries its id (correlationId), so the dashboard's Logs Insights query
      // finds receive, release, detach and delete of one interruption together.
      const handled = parsed.events.map((ev) => {
        const logger = ctx.logger.child({ correlationId: ev.eventId, instanceId: ev.instanceId });
        const attempt = { count: message.receiveCount, last: message.receiveCount >= maxAttempts };
        return { ev, logger, outcome: handleEvent(ev, { ...ctx, logger, attempt }, serializer, signal) };
      });
      // An AWS Health event names several instances: each gets its own outcome. All of them settle before
      // the message is deleted or handed back (the consumer keeps extending its visibility until then), and
      // one instance that failed sends the message back for itself only: the others are in `done` by now,
      // so the redelivery finds them handled.
      const settled = await Promise.allSettled(handled.map((h) => h.outcome));
      const failures: {
        ev: (typeof parsed.events)[number];
        logger: HandlerContext['logger'];
        err: unknown;
      }[] = [];
      settled.forEach((s, i) => {
        const { ev, logger } = handled[i]!;
        if (s.status === 'rejected') failures.push({ ev, logger, err: s.reason });
        else if (s.value.status === 'discard')
          discardMessage(message, s.value.reason, s.value.detail, logger);
      });
      if (failures.length === 0) return deps.dryRun ? 'keep' : 'delete';
      stats.eventsFailed += failures.length;
      // A message that keeps failing (a missing permission, a group that cannot be changed) would come back
      // forever; past its last attempt each instance that still fails is logged as an error, counted and
      // given up (the others were handled on an earlier delivery or on this one).
      const giveUp = message.receiveCount >= maxAttempts && !signal.aborted;
      for (const f of failures) {
        const what = `${f.ev.kind} for ${f.ev.instanceId}`;
        if (giveUp)
          discardMessage(
            message,
            'too-many-attempts',
            `${what}, attempt ${message.receiveCount}: ${describeError(f.err)}`,
            f.logger,
          );
        else
          f.logger.warn(
            { messageId: message.messageId, receiveCount: message.receiveCount, err: describeError(f.err) },
            `${what} failed on attempt ${message.receiveCount}; the message comes back for it`,
          );
      }
      if (giveUp) return deps.dryRun ? 'keep' : 'delete';
      if (parsed.events.length === 1) throw failures[0]!.err;
      throw new SpotmaxError(
        `${failures.length} of ${parsed.events.length} instances failed: ${failures
          .map((f) => `${f.ev.instanceId}: ${describeError(f.err)}`)
          .join('; ')}`,
      );
    } finally {
      stats.inFlight--;
    }
  };

  const consumer = new QueueConsumer({
    queue: deps.cloud.queue,
    clock: deps.clock,
    logger: deps.logger,
    queueUrls: deps.queueUrls,
    pollers: deps.pollers,
    concurrency: deps.concurrency,
    handle: handleMessage,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    waitSeconds: o.waitSeconds,
    onDeleted: () => {
      stats.deleted++;
    },
    onFailed: () => {
      stats.failed++;
    },
    onReceiveError: () => {
      stats.receiveErrors++;
    },
  });

  return {
    start() {
      // Metrics are flushed by the service's one flusher (app/service.ts), not here.
      consumer.start();
      deps.logger.info(
        { queues: deps.queueUrls, pollers: deps.pollers, concurrency: deps.concurrency, dryRun: deps.dryRun },
        'interruption event loop started',
      );
    },
    async stop(graceMs) {
      await consumer.stop(graceMs);
      await coalescer.drain();
      deps.logger.info({ stats }, 'interruption event loop stopped');
    },
    stats: () => ({ ...structuredClone(stats), dedupeEntries: ctx.done.size }),
    handleMessage,
  };
}
