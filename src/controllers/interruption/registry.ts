import type { InterruptionEvent } from '../../domain/events.js';
import type { EventBridgeEnvelope } from './messages/common.js';
import { HEALTH, parseHealthEvent } from './messages/health-scheduled-change.js';
import { LIFECYCLE_LAUNCH, LIFECYCLE_TERMINATE, parseLifecycleAction } from './messages/lifecycle-action.js';
import { parseRebalance, REBALANCE } from './messages/rebalance.js';
import { parseSpotInterruption, SPOT_INTERRUPTION } from './messages/spot-interruption.js';
import { parseStateChange, STATE_CHANGE } from './messages/state-change.js';

/** Turns a validated envelope into events; throws a ZodError when the detail has the wrong shape. */
export type DetailParser = (env: EventBridgeEnvelope) => InterruptionEvent[];

const key = (source: string, detailType: string) => `${source}\u0000${detailType}`;

/** Parsers keyed by (source, detail-type); an unknown pair is a no-op that gets deleted. */
export const registry: ReadonlyMap<string, DetailParser> = new Map<string, DetailParser>([
  [key(SPOT_INTERRUPTION.source, SPOT_INTERRUPTION.detailType), parseSpotInterruption],
  [key(REBALANCE.source, REBALANCE.detailType), parseRebalance],
  [key(STATE_CHANGE.source, STATE_CHANGE.detailType), parseStateChange],
  [key(LIFECYCLE_TERMINATE.source, LIFECYCLE_TERMINATE.detailType), parseLifecycleAction],
  [key(LIFECYCLE_LAUNCH.source, LIFECYCLE_LAUNCH.detailType), parseLifecycleAction],
  [key(HEALTH.source, HEALTH.detailType), parseHealthEvent],
]);

export function parserFor(source: string, detailType: string): DetailParser | undefined {
  return registry.get(key(source, detailType));
}
