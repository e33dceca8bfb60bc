/**
 * Batches calls while one is in flight: the first item goes out at once (no added latency when idle);
 * items arriving while a batch is in flight wait and go out together when it returns. Under load, and
 * above all under throttling (a throttled call stays in flight through its backoff), a storm of callers
 * costs a few calls instead of one each. When a batch of several fails (one bad id fails a whole EC2
 * call), each item is sent alone so one item's error never becomes its neighbours'.
 */
export function batchWhileBusy<I, R>(
  send: (items: I[]) => Promise<R[]>,
  maxBatch: number,
): (item: I) => Promise<R> {
  let waiting: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let busy = false;

  const settleAlone = async (entry: (typeof waiting)[number]) => {
    try {
      const [r] = await send([entry.item]);
      entry.resolve(r as R);
    } catch (err) {
      entry.reject(err);
    }
  };

  const pump = async (): Promise<void> => {
    if (busy || waiting.length === 0) return;
    busy = true;
    const batch = waiting.slice(0, maxBatch);
    waiting = waiting.slice(maxBatch);
    try {
      const results = await send(batch.map((e) => e.item));
      for (const [i, e] of batch.entries()) e.resolve(results[i] as R);
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else await Promise.all(batch.map(settleAlone));
    } finally {
      busy = false;
      void pump();
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      void pump();
    });
}
