import type { Cloud } from '../src/ports/cloud.js';

/**
 * The cloud with wall-clock marks: when each instance's warning was first received and when its detach
 * was first sent (performance.now(), ms). The benchmarks' warning→detach figures come from these.
 */
export function withWarningTimes(base: Cloud): {
  cloud: Cloud;
  receivedAt: Map<string, number>;
  detachedAt: Map<string, number>;
} {
  const receivedAt = new Map<string, number>();
  const detachedAt = new Map<string, number>();
  const cloud: Cloud = {
    ...base,
    queue: Object.assign(Object.create(base.queue), {
      receive: async (...args: Parameters<Cloud['queue']['receive']>) => {
        const messages = await base.queue.receive(...args);
        const now = performance.now();
        for (const m of messages) {
          const id = /"instance-id":"(i-[0-9a-f]+)"/.exec(m.body)?.[1];
          if (id && !receivedAt.has(id)) receivedAt.set(id, now);
        }
        return messages;
      },
    }),
    autoscaling: Object.assign(Object.create(base.autoscaling), {
      detachInstances: (group: string, ids: string[], decrement: boolean) => {
        const now = performance.now();
        for (const id of ids) if (!detachedAt.has(id)) detachedAt.set(id, now);
        return base.autoscaling.detachInstances(group, ids, decrement);
      },
    }),
  };
  return { cloud, receivedAt, detachedAt };
}
