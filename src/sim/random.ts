// Seeded randomness. Two kinds: a stream (mulberry32) for draws whose order is fixed, and keyed draws
// (a hash of seed + keys) for draws that must be the same under every strategy even when the
// strategies make different calls in between: the k-th Spot launch in a pool gets the same lifetime,
// the n-th launch of a group the same boot time, whatever happened before.

function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function mix(x: number): number {
  let z = (x + 0x6d2b79f5) >>> 0;
  z = Math.imul(z ^ (z >>> 15), z | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  return (z ^ (z >>> 14)) >>> 0;
}

export class Random {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Next number of the stream, in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    return mix(this.state - 0x6d2b79f5) / 4294967296;
  }

  /** A draw in [0, 1) fixed by the seed and the keys alone. */
  keyed(...keys: (string | number)[]): number {
    return mix(fnv1a(keys.join('\u0001'), this.seed)) / 4294967296;
  }

  /** An independent stream for one concern (e.g. 'sqs-duplicates'). */
  fork(name: string): Random {
    return new Random(fnv1a(name, this.seed));
  }
}

/** Exponential waiting time for a rate per unit time; u in [0, 1). */
export function exponential(u: number, ratePerUnit: number): number {
  if (ratePerUnit <= 0) return Number.POSITIVE_INFINITY;
  return -Math.log(1 - u) / ratePerUnit;
}

/** Standard normal quantile (Acklam's approximation), for lognormal boot times. */
export function normalQuantile(p: number): number {
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (q < lo) {
    const r = Math.sqrt(-2 * Math.log(q));
    return (
      (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) /
      ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1)
    );
  }
  if (q > 1 - lo) return -normalQuantile(1 - q);
  const r = q - 0.5;
  const s = r * r;
  return (
    ((((((a[0]! * s + a[1]!) * s + a[2]!) * s + a[3]!) * s + a[4]!) * s + a[5]!) * r) /
    (((((b[0]! * s + b[1]!) * s + b[2]!) * s + b[3]!) * s + b[4]!) * s + 1)
  );
}

/** A duration distribution given as median and p99 (lognormal), in seconds. */
export interface Duration {
  median: number;
  p99: number;
}

export function drawDuration(d: Duration, u: number): number {
  if (d.p99 <= d.median) return d.median;
  const sigma = Math.log(d.p99 / d.median) / 2.3263478740408408;
  return d.median * Math.exp(sigma * normalQuantile(u));
}
