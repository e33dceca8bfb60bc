import type { QueueMessage, QueuePort, ReceiveOptions } from '../ports/queue.js';
import type { SimApi } from './api.js';
import { awsError } from './api.js';
import type { VirtualClock } from './clock.js';
import type { Random } from './random.js';

// A standard SQS queue: long polling, visibility timeouts, at-least-once delivery. A duplicate (the same
// message id delivered twice, as SQS may) can be injected per message with `duplicateRate`.

interface StoredMessage {
  messageId: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  handle?: string;
  /** When the current receive began: visibility may not be extended past 12 hours from it. */
  receivedAt?: number;
}

/** "Amazon SQS visibility timeout": at most 12 hours, counted from the receive. */
const MAX_VISIBILITY_SECONDS = 43_200;

interface Waiter {
  max: number;
  visibility: number;
  resolve: (msgs: QueueMessage[]) => void;
}

class SimQueue {
  readonly messages = new Map<string, StoredMessage>();
  /** Ids in send order; the queue's delivery order for visible messages. */
  private order: string[] = [];
  readonly waiters: Waiter[] = [];
  private copies = 0;
  constructor(readonly defaultVisibility: number) {}

  put(m: StoredMessage): void {
    const key = this.messages.has(m.messageId) ? `${m.messageId}#${++this.copies}` : m.messageId;
    this.messages.set(key, m);
    this.order.push(key);
  }

  /** Visible messages at `now`, at most `max`, made invisible for `visibility` seconds. */
  take(now: number, max: number, visibility: number, newHandle: () => string): QueueMessage[] {
    const out: QueueMessage[] = [];
    if (this.order.length > 2 * this.messages.size + 64)
      this.order = this.order.filter((k) => this.messages.has(k));
    for (const key of this.order) {
      if (out.length >= max) break;
      const m = this.messages.get(key);
      if (!m || m.visibleAt > now) continue;
      m.receiveCount++;
      m.receivedAt = now;
      m.visibleAt = now + visibility * 1000;
      m.handle = `${key}|${newHandle()}`;
      out.push({
        messageId: m.messageId,
        receiptHandle: m.handle,
        body: m.body,
        receiveCount: m.receiveCount,
        sentAt: new Date(m.sentAt),
      });
    }
    return out;
  }

  byHandle(handle: string): [string, StoredMessage] | undefined {
    const key = handle.split('|')[0] ?? '';
    const m = this.messages.get(key);
    return m && m.handle === handle ? [key, m] : undefined;
  }
}

export class SimSqs implements QueuePort {
  private readonly queues = new Map<string, SimQueue>();
  private seq = 0;
  private readonly rng: Random;
  /** Messages sent to each queue so far, for reports. */
  sent = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly api: SimApi,
    random: Random,
    private readonly region: string,
    private readonly duplicateRate = 0,
  ) {
    this.rng = random.fork('sqs');
  }

  createQueue(name: string, visibilityTimeoutSeconds = 30): string {
    const url = `https://sqs.${this.region}.amazonaws.com/123456789012/${name}`;
    if (!this.queues.has(url)) this.queues.set(url, new SimQueue(visibilityTimeoutSeconds));
    return url;
  }

  /** Messages in the queue (visible or in flight): for tests and reports. */
  depth(url: string): number {
    return this.queues.get(url)?.messages.size ?? 0;
  }

  /** Messages received and not yet visible again (GetQueueAttributes ApproximateNumberOfMessagesNotVisible). */
  inFlight(url: string): number {
    const now = this.clock.nowMs();
    let n = 0;
    for (const m of this.queues.get(url)?.messages.values() ?? []) if (m.visibleAt > now) n++;
    return n;
  }

  private queue(url: string): SimQueue {
    const q = this.queues.get(url);
    if (!q)
      throw awsError('AWS.SimpleQueueService.NonExistentQueue', `The specified queue does not exist: ${url}`);
    return q;
  }

  /** What EventBridge does: put a message on the queue, outside spotmax's API budget. */
  deliver(url: string, body: string): string {
    const q = this.queue(url);
    const messageId = this.messageId();
    const now = this.clock.nowMs();
    q.put({ messageId, body, sentAt: now, visibleAt: now, receiveCount: 0 });
    if (this.duplicateRate > 0 && this.rng.next() < this.duplicateRate) {
      q.put({ messageId, body, sentAt: now, visibleAt: now, receiveCount: 0 });
    }
    this.sent++;
    this.wake(q);
    return messageId;
  }

  private messageId(): string {
    const n = ++this.seq;
    const hex = (Math.floor(this.rng.keyed('msg', n) * 0xffffffff) >>> 0).toString(16).padStart(8, '0');
    return `${hex}-${(n >>> 16).toString(16).padStart(4, '0')}-4${(n & 0xfff).toString(16).padStart(3, '0')}-8000-${n.toString(16).padStart(12, '0')}`;
  }

  /** Receives from `q`; a message received now becomes visible again later, waking a long poll then. */
  private take(q: SimQueue, max: number, visibility: number): QueueMessage[] {
    const msgs = q.take(this.clock.nowMs(), max, visibility, () => String(++this.seq));
    if (msgs.length > 0) this.clock.after(visibility * 1000, () => this.wake(q));
    return msgs;
  }

  private wake(q: SimQueue): void {
    while (q.waiters.length > 0) {
      const w = q.waiters[0]!;
      const msgs = this.take(q, w.max, w.visibility);
      if (msgs.length === 0) return;
      q.waiters.shift();
      w.resolve(msgs);
    }
  }

  receive(url: string, options: ReceiveOptions): Promise<QueueMessage[]> {
    return this.api
      .call('sqs', 'ReceiveMessage', `receiving from ${url}`, () => this.queue(url))
      .then((q) => {
        const max = Math.min(10, Math.max(1, options.maxMessages));
        const visibility = options.visibilityTimeoutSeconds ?? q.defaultVisibility;
        const msgs = this.take(q, max, visibility);
        if (msgs.length > 0 || options.waitSeconds <= 0) return msgs;
        return new Promise<QueueMessage[]>((resolve, reject) => {
          const waiter: Waiter = {
            max,
            visibility,
            resolve: (m) => {
              timer.cancel();
              options.signal?.removeEventListener('abort', onAbort);
              resolve(m);
            },
          };
          const drop = () => {
            const i = q.waiters.indexOf(waiter);
            if (i >= 0) q.waiters.splice(i, 1);
          };
          // A message that was in flight becomes visible again without a send: look once more at the end.
          const timer = this.clock.after(Math.min(20, options.waitSeconds) * 1000, () => {
            drop();
            options.signal?.removeEventListener('abort', onAbort);
            resolve(this.take(q, max, visibility));
          });
          const onAbort = () => {
            drop();
            timer.cancel();
            reject(options.signal?.reason);
          };
          if (options.signal?.aborted) return onAbort();
          options.signal?.addEventListener('abort', onAbort, { once: true });
          q.waiters.push(waiter);
        });
      });
  }

  delete(url: string, receiptHandle: string): Promise<void> {
    return this.api.call('sqs', 'DeleteMessage', `deleting a message from ${url}`, () => {
      const q = this.queue(url);
      // SQS: only the most recent receipt handle is sure to delete; an older one may leave the message.
      const found = q.byHandle(receiptHandle);
      if (found) q.messages.delete(found[0]);
    });
  }

  changeVisibility(url: string, receiptHandle: string, timeoutSeconds: number): Promise<void> {
    return this.api.call(
      'sqs',
      'ChangeMessageVisibility',
      `changing a message's visibility on ${url}`,
      () => {
        // "ChangeMessageVisibility" (SQS API Reference): only a message in flight can be changed (its
        // visibility expired: MessageNotInflight), never past 12 hours from its receive, and the new
        // timeout counts from this call. A long poll returns as soon as the message is visible again.
        const q = this.queue(url);
        const found = q.byHandle(receiptHandle);
        if (!found)
          throw awsError('ReceiptHandleIsInvalid', `The receipt handle "${receiptHandle}" is not valid.`);
        const m = found[1];
        const now = this.clock.nowMs();
        if (m.visibleAt <= now)
          throw awsError('AWS.SimpleQueueService.MessageNotInflight', 'The message is not in flight.');
        if (
          timeoutSeconds < 0 ||
          timeoutSeconds > MAX_VISIBILITY_SECONDS ||
          now + timeoutSeconds * 1000 > (m.receivedAt ?? now) + MAX_VISIBILITY_SECONDS * 1000
        ) {
          throw awsError(
            'InvalidParameterValue',
            `Value ${timeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].`,
          );
        }
        m.visibleAt = now + timeoutSeconds * 1000;
        if (timeoutSeconds === 0) this.wake(q);
        else this.clock.after(timeoutSeconds * 1000, () => this.wake(q));
      },
    );
  }

  send(url: string, body: string): Promise<string> {
    return this.api.call('sqs', 'SendMessage', `sending a message to ${url}`, () => this.deliver(url, body));
  }

  check(url: string): Promise<void> {
    return this.api.call('sqs', 'GetQueueAttributes', `checking ${url}`, () => {
      this.queue(url);
    });
  }
}
