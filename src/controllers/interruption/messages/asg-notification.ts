import { z } from 'zod';
import type { ParseResult } from '../../../domain/events.js';
import { LAUNCHING, lifecycleDetail, lifecycleEvent, TERMINATING } from './lifecycle-action.js';

// Direct Auto Scaling notifications: what a lifecycle hook whose notification target is the queue
// sends (no EventBridge envelope, PascalCase keys), plus the test message sent when the target is set.

const notification = z
  .object({
    Service: z.literal('AWS Auto Scaling').optional(),
    Event: z.string().optional(),
    LifecycleTransition: z.string().optional(),
    RequestId: z.string().optional(),
    Time: z.iso.datetime({ offset: true }).optional(),
  })
  .loose();

export function isAsgNotification(body: Record<string, unknown>): boolean {
  return (
    body.Service === 'AWS Auto Scaling' ||
    'LifecycleTransition' in body ||
    body.Event === 'autoscaling:TEST_NOTIFICATION'
  );
}

export function parseAsgNotification(body: Record<string, unknown>, messageId: string): ParseResult {
  const n = notification.safeParse(body);
  if (!n.success) return { ok: false, reason: 'malformed', detail: z.prettifyError(n.error) };
  if (n.data.Event === 'autoscaling:TEST_NOTIFICATION') {
    return { ok: false, reason: 'test-notification', detail: 'autoscaling:TEST_NOTIFICATION' };
  }
  const transition = n.data.LifecycleTransition;
  if (transition !== TERMINATING && transition !== LAUNCHING) {
    return {
      ok: false,
      reason: 'unknown-type',
      detail: `Auto Scaling notification ${n.data.Event ?? transition ?? '(no event)'}`,
    };
  }
  const d = lifecycleDetail.safeParse(body);
  if (!d.success) return { ok: false, reason: 'malformed', detail: z.prettifyError(d.error) };
  const time = n.data.Time ? new Date(n.data.Time) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime()))
    return { ok: false, reason: 'malformed', detail: 'lifecycle notification without Time' };
  return { ok: true, events: [lifecycleEvent(d.data, n.data.RequestId ?? messageId, time)] };
}
