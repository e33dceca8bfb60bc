import type { Clock } from '../../ports/clock.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { Strategy, StrategyContext } from './types.js';

/**
 * Like a node termination handler: on the warning it drains the instance (cordon and evict, taking
 * `drainSeconds`) and does nothing else: no early detach, so the group still replaces only after the
 * instance is gone.
 */
export function drainOnly(ctx: StrategyContext): Strategy {
  const { region, recorder } = ctx;
  const queue = region.cloud.queue;
  const clock: Clock = region.clock;
  const stopping = new AbortController();
  const drained = new Set<string>();
  let drains = 0;
  let loop: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();

  const handle = async (m: QueueMessage) => {
    let body: { 'detail-type'?: string; detail?: { 'instance-id'?: string } };
    try {
      body = JSON.parse(m.body);
    } catch {
      body = {};
    }
    const id = body.detail?.['instance-id'];
    if (body['detail-type'] === 'EC2 Spot Instance Interruption Warning' && id && !drained.has(id)) {
      drained.add(id);
      drains++;
      await clock.sleep(region.scenario.drainSeconds * 1000);
      recorder.markHandled(id);
    }
    await queue.delete(region.queueUrl, m.receiptHandle).catch(() => undefined);
  };

  return {
    name: 'drain-only',
    async start() {
      loop = (async () => {
        while (!stopping.signal.aborted) {
          let msgs: QueueMessage[];
          try {
            msgs = await queue.receive(region.queueUrl, {
              maxMessages: 10,
              waitSeconds: 20,
              signal: stopping.signal,
            });
          } catch {
            if (stopping.signal.aborted) return;
            await clock.sleep(1000).catch(() => undefined);
            continue;
          }
          for (const m of msgs) {
            const p = handle(m).finally(() => inFlight.delete(p));
            inFlight.add(p);
          }
        }
      })();
    },
    async stop() {
      stopping.abort();
      await loop;
      await Promise.all(inFlight);
    },
    actions: () => ({ drain: drains }),
  };
}
