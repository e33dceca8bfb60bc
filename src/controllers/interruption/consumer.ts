import { describeError, isRetryable } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { QueueMessage, QueuePort } from '../../ports/queue.js';
import { backoffDelay } from '../../timing/backoff.js';
import { withDeadline } from '../../timing/deadline.js';
import { every } from '../../timing/every.js';
import { Semaphore } from '../../timing/pool.js';

/** Receive failures back off 0.5 s, 1 s, 2 s, ... up to 20 s, so a dead queue endpoint is not hammered. */
const RECEIVE_BACKOFF = { baseMs: 500, maxMs: 20_000 };

/**
 * Queue calls after the work is done get this long: a hung call must not hold a handler slot. No retry
 * of our own: the SDK has retried what it could, and a message not deleted is delivered again (and
 * handled idempotently), one whose visibility was not changed comes back at its timeout.
 */
const QUEUE_CALL_MS = 10_000;

/** What the handler decided: delete the message, or keep it (dry-run) so it is neither lost nor acted on. */
export type MessageVerdict = 'delete' | 'keep';

export interface ConsumerOptions {
  queue: QueuePort;
  clock: Clock;
  logger: Logger;
  queueUrls: string[];
  /** Receive loops per queue. */
  pollers: number;
  /** Messages handled at once, over all queues. */
  concurrency: number;
  /** Throws to leave the message for redelivery. */
  handle(message: QueueMessage, queueUrl: string, signal: AbortSignal): Promise<MessageVerdict>;
  onDeleted?(): void;
  onFailed?(message: QueueMessage, err: unknown): void;
  onReceiveError?(err: unknown): void;
  visibilityTimeoutSeconds?: number;
  waitSeconds?: number;
}

interface InFlight {
  done: Promise<void>;
  abort: AbortController;
  queueUrl: string;
  message: QueueMessage;
  finished: boolean;
  deleted: boolean;
}

/**
 * Long-polls the queues with a few receive loops each. A loop reserves free handler slots before it
 * receives (never pulling messages it cannot start), starts each message's handler without waiting for
 * it, and goes straight back to receiving. While a handler runs, the message's visibility is extended;
 * it is deleted only when the handler says so.
 */
export class QueueConsumer {
  private readonly semaphore: Semaphore;
  private readonly receiving = new AbortController();
  private readonly inFlight = new Set<InFlight>();
  private loops: Promise<void>[] = [];
  private readonly visibility: number;

  constructor(private readonly opts: ConsumerOptions) {
    this.semaphore = new Semaphore(opts.concurrency);
    // Short, and extended every half period while the work runs: a message whose handler died (a killed
    // task) is visible again within 15 s, well inside a two-minute warning.
    this.visibility = opts.visibilityTimeoutSeconds ?? 15;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    for (const url of this.opts.queueUrls) {
      for (let i = 0; i < this.opts.pollers; i++) this.loops.push(this.poll(url, i));
    }
  }

  /**
   * Stops receiving, lets in-flight work finish for up to `graceMs`, then aborts what is left and makes
   * those messages visible again at once (undeleted), so another replica picks them up.
   */
  async stop(graceMs: number): Promise<void> {
    this.receiving.abort(new Error('consumer stopping'));
    await Promise.allSettled(this.loops);
    const pending = [...this.inFlight];
    if (pending.length > 0) {
      // Past the grace period the unfinished are aborted below; the deadline itself is no error.
      await withDeadline(() => Promise.allSettled(pending.map((p) => p.done)), {
        clock: this.opts.clock,
        ms: graceMs,
        what: 'in-flight messages',
      }).catch(() => undefined);
    }
    const unfinished = [...this.inFlight].filter((p) => !p.finished);
    for (const p of unfinished) p.abort.abort(new Error('shutting down: grace period over'));
    await Promise.allSettled(unfinished.map((p) => p.done));
    const left = unfinished.filter((p) => !p.deleted);
    await Promise.allSettled(
      left.map((p) => this.opts.queue.changeVisibility(p.queueUrl, p.message.receiptHandle, 0)),
    );
    if (left.length > 0) {
      this.opts.logger.warn(
        { messages: left.map((p) => p.message.messageId) },
        `left ${left.length} unfinished message(s) on the queue`,
      );
    }
  }

  private async poll(queueUrl: string, index: number): Promise<void> {
    const signal = this.receiving.signal;
    let failures = 0;
    while (!signal.aborted) {
      const slots = await this.semaphore.acquireUpTo(10, signal);
      if (slots === 0) break;
      let messages: QueueMessage[];
      try {
        messages = await this.opts.queue.receive(queueUrl, {
          maxMessages: slots,
          waitSeconds: this.opts.waitSeconds ?? 20,
          visibilityTimeoutSeconds: this.visibility,
          signal,
        });
        failures = 0;
      } catch (err) {
        this.semaphore.release(slots);
        if (signal.aborted) break;
        failures++;
        this.opts.onReceiveError?.(err);
        // A throttled or 5xx answer (an HTML 503 page from a proxy included) is transient: counted and
        // retried, logged as a warning so it does not feed the Errors alarm; anything else is an error.
        const transient = isRetryable(err);
        this.opts.logger[transient ? 'warn' : 'error'](
          { queueUrl, poller: index, err: describeError(err), transient },
          `receiving from ${queueUrl} failed${transient ? ' (transient; retrying)' : ''}`,
        );
        await this.opts.clock.sleep(backoffDelay(failures, RECEIVE_BACKOFF), signal).catch(() => undefined);
        continue;
      }
      this.semaphore.release(slots - messages.length);
      for (const m of messages) this.dispatch(queueUrl, m);
    }
  }

  private dispatch(queueUrl: string, message: QueueMessage): void {
    const abort = new AbortController();
    const entry: InFlight = {
      abort,
      queueUrl,
      message,
      finished: false,
      deleted: false,
      done: Promise.resolve(),
    };
    this.inFlight.add(entry);
    entry.done = this.run(entry).finally(() => {
      entry.finished = true;
      this.inFlight.delete(entry);
      this.semaphore.release(1);
    });
  }

  private async run(entry: InFlight): Promise<void> {
    const { queueUrl, message, abort } = entry;
    const keepAlive = new AbortController();
    const extender = this.extendVisibility(queueUrl, message, keepAlive.signal);
    try {
      const verdict = await this.opts.handle(message, queueUrl, abort.signal);
      // Work that finished (even after the grace period) is done: its message goes.
      if (verdict === 'delete') {
        await this.queueCall(`deleting message ${message.messageId}`, () =>
          this.opts.queue.delete(queueUrl, message.receiptHandle),
        );
        entry.deleted = true;
        this.opts.onDeleted?.();
      }
    } catch (err) {
      this.opts.onFailed?.(message, err);
      const retryIn = abort.signal.aborted ? undefined : retryDelaySeconds(message.receiveCount);
      this.opts.logger.error(
        {
          messageId: message.messageId,
          receiveCount: message.receiveCount,
          retryIn,
          err: describeError(err),
        },
        'handling a message failed; it stays on the queue for redelivery',
      );
      // Within a two-minute warning the full visibility timeout is too long to wait: come back soon.
      if (retryIn !== undefined) {
        keepAlive.abort();
        await extender;
        await this.queueCall(`making message ${message.messageId} visible in ${retryIn} s`, () =>
          this.opts.queue.changeVisibility(queueUrl, message.receiptHandle, retryIn),
        ).catch(() => undefined);
      }
    } finally {
      keepAlive.abort();
      await extender;
    }
  }

  private queueCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withDeadline(call, { clock: this.opts.clock, ms: QUEUE_CALL_MS, what });
  }

  /** Pushes the visibility timeout out every half period while the handler runs. */
  private extendVisibility(queueUrl: string, message: QueueMessage, signal: AbortSignal): Promise<void> {
    return every(
      this.opts.clock,
      (this.visibility * 1000) / 2,
      async () => {
        try {
          await this.queueCall(`extending the visibility of message ${message.messageId}`, () =>
            this.opts.queue.changeVisibility(queueUrl, message.receiptHandle, this.visibility),
          );
        } catch (err) {
          // The next extension may succeed; at worst the message is delivered again, and handled idempotently.
          this.opts.logger.warn(
            { messageId: message.messageId, err: describeError(err) },
            'extending message visibility failed',
          );
        }
      },
      signal,
    );
  }
}

/** Seconds until a failed message is tried again: 2, 4, 8, ... up to 60 with each delivery. */
export function retryDelaySeconds(receiveCount: number): number {
  // The formula has no unit of its own: here base and cap are seconds (SQS visibility is in seconds).
  return backoffDelay(receiveCount, { baseMs: 2, maxMs: 60 });
}
