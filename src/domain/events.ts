// What a queue message means once parsed: plain data, independent of the wire shape it arrived in
// (EventBridge, SNS-wrapped EventBridge, or a direct Auto Scaling notification).

/** The EC2 Spot warning: the instance goes two minutes after `time`. */
export interface SpotInterruptionEvent {
  kind: 'spot-interruption';
  eventId: string;
  instanceId: string;
  time: Date;
  /** terminate, stop or hibernate, as EC2 reports it. */
  instanceAction: string;
}

export interface RebalanceEvent {
  kind: 'rebalance';
  eventId: string;
  instanceId: string;
  time: Date;
}

/** AWS Health scheduled change for EC2; one event per affected instance. */
export interface ScheduledChangeEvent {
  kind: 'scheduled-change';
  eventId: string;
  instanceId: string;
  time: Date;
  eventTypeCode: string;
}

export interface StateChangeEvent {
  kind: 'state-change';
  eventId: string;
  instanceId: string;
  time: Date;
  state: string;
}

export interface LifecycleEvent {
  kind: 'lifecycle-launch' | 'lifecycle-terminate';
  eventId: string;
  instanceId: string;
  time: Date;
  groupName: string;
  hookName: string;
  token?: string;
}

export type InterruptionEvent =
  | SpotInterruptionEvent
  | RebalanceEvent
  | ScheduledChangeEvent
  | StateChangeEvent
  | LifecycleEvent;

export type InterruptionEventKind = InterruptionEvent['kind'];

/** Why a message was deleted without action; also the `Reason` dimension of EventsDiscarded. */
export type DiscardReason =
  | 'not-json'
  | 'too-large'
  | 'malformed'
  | 'unknown-type'
  | 'test-notification'
  | 'irrelevant'
  | 'unknown-instance'
  /** The instance's Auto Scaling group exists but spotmax does not manage it (not opted in, or a problem). */
  | 'not-managed'
  | 'too-old'
  | 'future-dated'
  | 'stale'
  | 'too-many-attempts';

export type ParseResult =
  | { ok: true; events: InterruptionEvent[] }
  | { ok: false; reason: DiscardReason; detail: string };
