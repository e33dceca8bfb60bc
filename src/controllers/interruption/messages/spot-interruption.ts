import { z } from 'zod';
import type { InterruptionEvent } from '../../../domain/events.js';
import { type EventBridgeEnvelope, instanceId } from './common.js';

export const SPOT_INTERRUPTION = {
  source: 'aws.ec2',
  detailType: 'EC2 Spot Instance Interruption Warning',
} as const;

const detail = z.object({ 'instance-id': instanceId, 'instance-action': z.string().min(1) });

export function parseSpotInterruption(env: EventBridgeEnvelope): InterruptionEvent[] {
  const d = detail.parse(env.detail);
  return [
    {
      kind: 'spot-interruption',
      eventId: env.id,
      instanceId: d['instance-id'],
      time: new Date(env.time),
      instanceAction: d['instance-action'],
    },
  ];
}
