import { z } from 'zod';
import type { InterruptionEvent } from '../../../domain/events.js';
import { type EventBridgeEnvelope, instanceId } from './common.js';

export const HEALTH = { source: 'aws.health', detailType: 'AWS Health Event' } as const;

const detail = z.object({
  service: z.string(),
  eventTypeCode: z.string().min(1),
  eventTypeCategory: z.string(),
  affectedEntities: z.array(z.object({ entityValue: z.string() }).loose()).default([]),
});

/**
 * Only EC2 scheduled changes concern spotmax; each affected instance becomes its own event so each is
 * serialized and deduplicated on its own. Entities that are not instance ids (hosts, volumes) are skipped.
 */
export function parseHealthEvent(env: EventBridgeEnvelope): InterruptionEvent[] {
  const d = detail.parse(env.detail);
  if (d.service !== 'EC2' || d.eventTypeCategory !== 'scheduledChange') return [];
  const ids = d.affectedEntities.map((e) => e.entityValue).filter((v) => instanceId.safeParse(v).success);
  return [...new Set(ids)].map((id) => ({
    kind: 'scheduled-change' as const,
    eventId: `${env.id}/${id}`,
    instanceId: id,
    time: new Date(env.time),
    eventTypeCode: d.eventTypeCode,
  }));
}
