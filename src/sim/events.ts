import {
  entrySize,
  MAX_ENTRIES_PER_PUT,
  MAX_PUT_BYTES,
  type NotificationEntry,
  type NotificationsPort,
  type PutEventsOutcome,
} from '../ports/notifications.js';
import { awsError, type SimApi } from './api.js';

// The simulated region's EventBridge bus: PutEvents through SimApi (counted, rate-limited, faultable
// with `api.setFault('events', …)`), refusing what EventBridge refuses, and keeping what it accepted in
// `published` so tests assert on what spotmax told the operators.
//
// Rules enforced, from the PutEvents API reference and *Calculating PutEvents event entry size*:
// - 1 to 10 entries a request, else a ValidationException for the whole call;
// - the entries' sizes (Time 14 bytes + Source + DetailType + Detail, UTF-8) add up to at most 256 KB,
//   else the whole call fails (ValidationException);
// - Detail must be a JSON object, else that entry fails with MalformedDetail (the others go through).

export interface PublishedEvent {
  bus: string;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time: Date;
}

/** Events kept; older ones go first (a simulated day can publish many). */
const KEEP = 10_000;

export class SimEventBus implements NotificationsPort {
  /** Refuse every entry with this code (tests: ThrottlingException is retried, others are counted). */
  refuseEntries: { code: string; times: number } | undefined;

  constructor(
    private readonly api: SimApi,
    readonly bus = 'default',
    /** Shared by every bus of one region, so a test sees all events in one place. */
    readonly published: PublishedEvent[] = [],
  ) {}

  /** Another bus name on the same region's API. */
  named(bus: string): SimEventBus {
    return new SimEventBus(this.api, bus, this.published);
  }

  putEvents(entries: NotificationEntry[]): Promise<PutEventsOutcome> {
    return this.api.call('events', 'PutEvents', `publishing ${entries.length} events on ${this.bus}`, () => {
      if (entries.length < 1 || entries.length > MAX_ENTRIES_PER_PUT)
        throw awsError(
          'ValidationException',
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_PUT}`,
        );
      const bytes = entries.reduce((n, e) => n + entrySize(e), 0);
      if (bytes > MAX_PUT_BYTES)
        throw awsError(
          'ValidationException',
          `Total size of the entries in the request is over the limit (${bytes} bytes).`,
        );
      const failed: PutEventsOutcome['failed'] = [];
      entries.forEach((e, index) => {
        if (this.refuseEntries && this.refuseEntries.times > 0) {
          this.refuseEntries.times--;
          failed.push({ index, code: this.refuseEntries.code, message: 'refused by the test' });
          return;
        }
        let detail: unknown;
        try {
          detail = JSON.parse(e.detail);
        } catch {
          detail = undefined;
        }
        if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
          failed.push({ index, code: 'MalformedDetail', message: 'Detail is malformed.' });
          return;
        }
        this.published.push({
          bus: this.bus,
          source: e.source,
          detailType: e.detailType,
          detail: detail as Record<string, unknown>,
          time: e.time,
        });
      });
      if (this.published.length > KEEP) this.published.splice(0, this.published.length - KEEP);
      return { failed };
    });
  }
}
