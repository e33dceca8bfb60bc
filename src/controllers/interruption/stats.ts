import type { DiscardReason } from '../../domain/events.js';

/** Counters of the fast path, for /metrics, logs and tests. */
export interface InterruptionStats {
  received: number;
  deleted: number;
  /** Handler threw; message left for redelivery. */
  failed: number;
  /** Events (one instance each) whose handling threw; a message naming several counts each that failed. */
  eventsFailed: number;
  receiveErrors: number;
  discarded: Partial<Record<DiscardReason, number>>;
  warnings: number;
  released: number;
  detached: number;
  lifecycleCompleted: number;
  retireRequested: number;
  cordoned: number;
  inFlight: number;
  /** Entries in the dedupe store; bounded by its expiry and cap. */
  dedupeEntries: number;
}

export function emptyStats(): InterruptionStats {
  return {
    received: 0,
    deleted: 0,
    failed: 0,
    eventsFailed: 0,
    receiveErrors: 0,
    discarded: {},
    warnings: 0,
    released: 0,
    detached: 0,
    lifecycleCompleted: 0,
    retireRequested: 0,
    cordoned: 0,
    inFlight: 0,
    dedupeEntries: 0,
  };
}
