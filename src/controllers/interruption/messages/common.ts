import { z } from 'zod';

// The EventBridge envelope every event type shares (DESIGN 1.4). `account` may be missing.
export const eventBridgeEnvelope = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().optional(),
  time: z.iso.datetime({ offset: true }),
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});
export type EventBridgeEnvelope = z.infer<typeof eventBridgeEnvelope>;

export const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'an EC2 instance id (i-...)');
