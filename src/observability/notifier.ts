import { describeError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import {
  entrySize,
  MAX_ENTRIES_PER_PUT,
  MAX_PUT_BYTES,
  type NotificationEntry,
  type NotificationsPort,
} from '../ports/notifications.js';
import { batchWhileBusy } from '../timing/batch.js';
import { MetricNames } from './metric-names.js';
import { NOTICE_SOURCE, type Notice } from './notices.js';

// Publishes notices on the bus without ever holding up the work they describe: notify() returns at
// once; entries go out in PutEvents calls of up to 10 (the API's limit), the first at once and the rest
// batched while a call is in flight (timing/batch.ts, the fast path's batching). A refused entry with a
// transient code is sent again (at most MAX_ATTEMPTS); the rest are counted (NotificationsFailed, by
// code) and logged as warnings — a bus that refuses must not feed the Errors alarm nor stop a drain.

export interface Notifier {
  notify(notice: Notice): void;
  /** Waits until every notice handed in so far is sent or given up (stop, tests). */
  flush(): Promise<void>;
}

export const noNotifier: Notifier = { notify: () => {}, flush: async () => {} };

/**
 * Each entry is kept under 1/10 of a request's 256 KB, so any 10 entries fit one PutEvents call
 * (*Calculating PutEvents event entry size*); a longer reason or error is cut to fit.
 */
export const MAX_ENTRY_BYTES = Math.floor(MAX_PUT_BYTES / MAX_ENTRIES_PER_PUT) - 1024;
/** Notices waiting beyond this are dropped and counted: a bus that never answers cannot eat the memory. */
const MAX_PENDING = 10_000;
const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 200;
/** Per-entry codes worth another try (PutEvents API reference, PutEventsResultEntry ErrorCode). */
const TRANSIENT = new Set([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
]);

export function createNotifier(deps: {
  port: NotificationsPort;
  clock: Clock;
  logger: Logger;
  metrics: MetricsPort;
  /** Added to every event's detail (the region it is about). */
  region?: string;
}): Notifier {
  const { port, clock, logger, metrics } = deps;
  let pending = 0;
  let idle: (() => void)[] = [];
  const lastLogged = new Map<string, number>();

  const failed = (code: string, count: number, message: string) => {
    metrics.record({
      name: MetricNames.NotificationsFailed,
      value: count,
      unit: 'Count',
      dimensions: { Reason: code },
    });
    // One warning per code per minute: a bus refusing everything logs a line a minute, not one per event.
    const now = clock.now().getTime();
    if (now - (lastLogged.get(code) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    lastLogged.set(code, now);
    logger.warn({ bus: port.bus, code, count }, `spotmax events not published on ${port.bus}: ${message}`);
  };

  const send = async (items: { entry: NotificationEntry; attempt: number }[]): Promise<undefined[]> => {
    try {
      const outcome = await port.putEvents(items.map((i) => i.entry));
      const published = items.length - outcome.failed.length;
      if (published > 0)
        metrics.record({ name: MetricNames.NotificationsPublished, value: published, unit: 'Count' });
      for (const f of outcome.failed) {
        const item = items[f.index];
        if (!item) continue;
        if (TRANSIENT.has(f.code) && item.attempt < MAX_ATTEMPTS) retryLater(item);
        else failed(f.code, 1, `${f.code}: ${f.message ?? 'refused'}`);
      }
    } catch (err) {
      // The whole call failed (no permission, network, the SDK's retries spent): the SDK already retried.
      const code = (err as { code?: string; name?: string }).code ?? (err as Error).name ?? 'Error';
      failed(code, items.length, describeError(err));
    } finally {
      pending -= items.length;
      if (pending === 0) {
        const waiting = idle;
        idle = [];
        for (const w of waiting) w();
      }
    }
    return items.map(() => undefined);
  };
  const put = batchWhileBusy(send, MAX_ENTRIES_PER_PUT);

  /** A throttled entry waits before its next try (200 ms, then 400 ms), as AWS advises for throttling. */
  function retryLater(item: { entry: NotificationEntry; attempt: number }): void {
    pending++;
    void clock.sleep(RETRY_BASE_MS * 2 ** (item.attempt - 1)).then(() => {
      pending--;
      enqueue(item.entry, item.attempt + 1);
    });
  }

  function enqueue(entry: NotificationEntry, attempt: number): void {
    if (pending >= MAX_PENDING) {
      failed('Dropped', 1, `${MAX_PENDING} events already wait; dropping`);
      return;
    }
    pending++;
    void put({ entry, attempt });
  }

  return {
    notify(notice) {
      try {
        const detail = { ...notice.detail, ...(deps.region ? { region: deps.region } : {}) };
        enqueue(
          fitEntry(
            { source: NOTICE_SOURCE, detailType: notice.detailType, detail: '', time: clock.now() },
            detail,
          ),
          1,
        );
      } catch (err) {
        // A notice that cannot be encoded is a bug to report, never a reason to fail the caller.
        failed('Unencodable', 1, describeError(err));
      }
    },
    flush: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
  };
}

/** Encodes the detail; when it is too large, cuts its longest string fields until it fits. */
export function fitEntry(entry: NotificationEntry, detail: Record<string, unknown>): NotificationEntry {
  let d = { ...detail };
  let json = JSON.stringify(d);
  while (entrySize({ ...entry, detail: json }) > MAX_ENTRY_BYTES) {
    const [key, value] = Object.entries(d)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .sort((a, b) => b[1].length - a[1].length)[0] ?? ['', ''];
    if (!key || value.length <= 64)
      throw new Error(`event ${entry.detailType} does not fit ${MAX_ENTRY_BYTES} bytes`);
    const over = entrySize({ ...entry, detail: json }) - MAX_ENTRY_BYTES;
    d = { ...d, [key]: `${value.slice(0, Math.max(32, value.length - over - 64))}… (cut)` };
    json = JSON.stringify(d);
  }
  return { ...entry, detail: json };
}
