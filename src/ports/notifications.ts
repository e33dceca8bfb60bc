// Where spotmax publishes what it did and what it found, for people and their tools: an EventBridge bus
// (aws/events.ts) or the simulated region's (sim/events.ts). Rules on the bus route the events to Slack
// (Chatbot), SNS or a ticket queue, the way AWS's own events are routed. The one call is PutEvents.

/** One event, as a PutEvents entry. */
export interface NotificationEntry {
  /** Always `spotmax`: rules match on it. */
  source: string;
  /** What happened, e.g. `spotmax action: launch-standby`, `spotmax problem`. */
  detailType: string;
  /** A JSON object (EventBridge requires one): kind, group, instance, reason, outcome, ... */
  detail: string;
  time: Date;
}

export interface PutEventsOutcome {
  /** Entries the bus refused, by their index in the request, with the bus's error code. */
  failed: { index: number; code: string; message?: string }[];
}

export interface NotificationsPort {
  /** The bus's name or ARN, for messages. */
  readonly bus: string;
  /**
   * Sends at most MAX_ENTRIES_PER_PUT entries whose sizes add up to at most MAX_PUT_BYTES. Throws when
   * the call fails as a whole; a refused entry is reported in `failed`, not thrown.
   */
  putEvents(entries: NotificationEntry[]): Promise<PutEventsOutcome>;
}

/** PutEvents takes 1 to 10 entries (PutEvents API reference, Entries). */
export const MAX_ENTRIES_PER_PUT = 10;
/** A request's entries may add up to 256 KB (*Calculating PutEvents event entry size*). */
export const MAX_PUT_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it (*Calculating PutEvents event entry size*): Time 14 bytes,
 * Source, DetailType and Detail their UTF-8 bytes (spotmax sends no Resources).
 */
export function entrySize(e: Pick<NotificationEntry, 'source' | 'detailType' | 'detail'>): number {
  return (
    14 +
    Buffer.byteLength(e.source, 'utf8') +
    Buffer.byteLength(e.detailType, 'utf8') +
    Buffer.byteLength(e.detail, 'utf8')
  );
}
