import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Whether an object can still be reached: tests of what a cache keeps alive (issue 16: a per-group cache
// that pinned a whole-region map per pass grew the heap without bound). A full garbage collection, after
// the current job has ended (a WeakRef's target is kept until then), leaves a WeakRef empty exactly when
// nothing reaches its target: not timing, reachability.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** True when nothing reaches the object `ref` points to any more. */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}
