import { z } from 'zod';
import type { InterruptionEvent } from '../../../domain/events.js';
import { type EventBridgeEnvelope, instanceId } from './common.js';

export const REBALANCE = { source: 'aws.ec2', detailType: 'EC2 Instance Rebalance Recommendation' } as const;

const detail = z.object({ 'instance-id': instanceId });

export function parseRebalance(env: EventBridgeEnvelope): InterruptionEvent[] {
  const d = detail.parse(env.detail);
  return [{ kind: 'rebalance', eventId: env.id, instanceId: d['instance-id'], time: new Date(env.time) }];
}
