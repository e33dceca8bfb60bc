// API rate limits as token buckets, with the sizes AWS publishes for EC2 ("Request throttling for the
// Amazon EC2 API": bucket size / refill rate per second). Auto Scaling publishes no figures; it is one
// shared bucket whose size a scenario can set.

import type { BucketSpec } from '../timing/token-bucket.js';

export const EC2_BUCKETS: Record<string, BucketSpec> = {
  'ec2:non-mutating': { capacity: 100, refillPerSecond: 20 },
  'ec2:mutating': { capacity: 50, refillPerSecond: 5 },
  'ec2:RunInstances': { capacity: 5, refillPerSecond: 2 },
  'ec2:StartInstances': { capacity: 5, refillPerSecond: 2 },
  'ec2:TerminateInstances': { capacity: 100, refillPerSecond: 5 },
};

export const DEFAULT_AUTOSCALING_BUCKET: BucketSpec = { capacity: 40, refillPerSecond: 8 };

/** Which bucket an action draws from; undefined: not rate limited in the simulation (every service but Auto Scaling and EC2). */
export function bucketFor(service: string, action: string): string | undefined {
  if (service === 'autoscaling') return 'autoscaling';
  if (service !== 'ec2') return undefined;
  if (action in { RunInstances: 1, StartInstances: 1, TerminateInstances: 1 }) return `ec2:${action}`;
  // GetInstanceTypesFromInstanceRequirements reads, like the Describe calls.
  return /^(Describe|Get)/.test(action) ? 'ec2:non-mutating' : 'ec2:mutating';
}
