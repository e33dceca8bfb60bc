import { z } from 'zod';
import type { InterruptionEvent } from '../../../domain/events.js';
import { type EventBridgeEnvelope, instanceId } from './common.js';

export const STATE_CHANGE = {
  source: 'aws.ec2',
  detailType: 'EC2 Instance State-change Notification',
} as const;

const detail = z.object({
  'instance-id': instanceId,
  state: z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']),
});

export function parseStateChange(env: EventBridgeEnvelope): InterruptionEvent[] {
  const d = detail.parse(env.detail);
  return [
    {
      kind: 'state-change',
      eventId: env.id,
      instanceId: d['instance-id'],
      time: new Date(env.time),
      state: d.state,
    },
  ];
}
