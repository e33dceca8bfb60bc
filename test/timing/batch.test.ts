import test from 'ava';
import { batchWhileBusy } from '../../src/timing/batch.js';

test('idle: an item goes out at once; items arriving while a call is in flight go out together', async (t) => {
  const calls: number[][] = [];
  let release: (() => void) | undefined;
  const send = batchWhileBusy<number, number>(async (items) => {
    calls.push(items);
    if (calls.length === 1) await new Promise<void>((r) => (release = r));
    return items.map((i) => i * 10);
  }, 100);
  const first = send(1);
  t.deepEqual(calls, [[1]], 'no wait for company when idle');
  const rest = [2, 3, 4].map(send);
  t.is(calls.length, 1, 'the others wait for the call in flight');
  release!();
  t.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
  t.deepEqual(calls, [[1], [2, 3, 4]]);
});

test('a failed batch of several is sent item by item: one bad item fails alone', async (t) => {
  const calls: number[][] = [];
  let hold: Promise<void> | undefined = new Promise<void>((r) => setTimeout(r, 5));
  const send = batchWhileBusy<number, number>(async (items) => {
    calls.push(items);
    if (hold) {
      const h = hold;
      hold = undefined;
      await h;
    }
    if (items.includes(3)) throw new Error('bad 3');
    return items;
  }, 2);
  const results = await Promise.allSettled([1, 2, 3, 4].map(send));
  t.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [1, 2, 'bad 3', 4],
  );
  // 1 alone; then [2, 3] (max 2) fails and is retried one by one; then [4].
  t.deepEqual(calls, [[1], [2, 3], [2], [3], [4]]);
});
