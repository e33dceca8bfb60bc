import { CloudError } from '../domain/errors.js';
import { type BucketSpec, TokenBucket } from '../timing/token-bucket.js';
import type { VirtualClock } from './clock.js';
import type { Random } from './random.js';
import { bucketFor, DEFAULT_AUTOSCALING_BUCKET, EC2_BUCKETS } from './ratelimit.js';

// Every simulated API call passes through here: it is counted, waits its latency, draws a token from
// its rate-limit bucket, may fail by injection, and is retried the way the AWS SDK's standard retry mode
// retries (the AWS adapters run with it, so the ports see what they would see in AWS). An error that
// survives the retries reaches the caller as a CloudError, the same shape the AWS adapters produce.

export type SimService = 'events' | 'autoscaling' | 'ec2' | 'sqs' | 'cloudwatch' | 'dynamodb';

export interface ApiFault {
  /** Share of calls (0..1) failing with a 500 InternalError. */
  errorRate?: number;
  /** Share of calls (0..1) throttled, as a service past its limits answers (retried like throttling). */
  throttleRate?: number;
  latencyMs?: number;
}

export interface ApiOptions {
  /** Per action name (DetachInstances, RunInstances, ...), or per service ('ec2', 'autoscaling', ...). */
  faults?: Record<string, ApiFault>;
  autoscalingBucket?: BucketSpec;
  /** Attempts per call, first included (the SDK's standard mode uses 3). */
  maxAttempts?: number;
  /** Latency of a call when no fault says otherwise. */
  defaultLatencyMs?: number;
  /** false: no rate limits at all. */
  rateLimits?: boolean;
}

export interface ApiStats {
  calls: number;
  byAction: Record<string, number>;
  throttles: number;
  /** Throttled attempts per action: which calls ran out of their bucket. */
  throttlesByAction: Record<string, number>;
  injectedErrors: number;
  /** Most requests (retries included) sent in any one second of virtual time. */
  peakPerSecond: number;
}

const MUTATING =
  /^(Run|Start|Stop|Terminate|Detach|Attach|Update|Create|Delete|Complete|Record|Put|Send|Change)/;

export function isMutatingAction(action: string): boolean {
  // The coordination store's item writes (PutItem, UpdateItem, DeleteItem) are spotmax's bookkeeping,
  // like its metrics: they change nothing in the fleet.
  return (
    MUTATING.test(action) && action !== 'SendMessage' && action !== 'PutMetricData' && !/Item$/.test(action)
  );
}

/** An AWS-shaped service error, as the SDK would throw it. */
export function awsError(code: string, message: string, status = 400): Error {
  const err = new Error(message) as Error & {
    $metadata: { httpStatusCode: number };
    $fault: string;
    Code: string;
  };
  err.name = code;
  err.Code = code;
  err.$metadata = { httpStatusCode: status };
  err.$fault = status >= 500 ? 'server' : 'client';
  return err;
}

export function throttleError(service: SimService): Error {
  if (service === 'ec2') return awsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
  if (service === 'dynamodb')
    return awsError(
      'ProvisionedThroughputExceededException',
      'The level of configured provisioned throughput for the table was exceeded.',
      400,
    );
  return awsError('Throttling', 'Rate exceeded', 400);
}

export class SimApi {
  readonly stats: ApiStats = {
    calls: 0,
    byAction: {},
    throttles: 0,
    throttlesByAction: {},
    injectedErrors: 0,
    peakPerSecond: 0,
  };
  private readonly buckets = new Map<string, TokenBucket>();
  private second = -1;
  private inSecond = 0;
  private readonly rng: Random;
  /** Per action or service; starts from the options' and changes with setFault. */
  private readonly faults: Record<string, ApiFault>;
  /** Callers may turn accounting off for the simulation's own bookkeeping reads. */
  constructor(
    private readonly clock: VirtualClock,
    random: Random,
    private readonly options: ApiOptions = {},
  ) {
    this.rng = random.fork('api');
    this.faults = { ...options.faults };
    const specs: Record<string, BucketSpec> = {
      ...EC2_BUCKETS,
      autoscaling: options.autoscalingBucket ?? DEFAULT_AUTOSCALING_BUCKET,
    };
    for (const [name, spec] of Object.entries(specs))
      this.buckets.set(name, new TokenBucket(spec, clock.nowMs()));
  }

  /**
   * Injects (or with undefined, lifts) a fault for an action or a whole service from now on: a store
   * that becomes unreachable (errorRate 1) or throttled in the middle of a run, and recovers.
   */
  setFault(key: string, fault: ApiFault | undefined): void {
    if (fault) this.faults[key] = fault;
    else delete this.faults[key];
  }

  /** Runs `fn` as the API action `action` of `service`, for `context` (what the caller was doing). */
  async call<T>(service: SimService, action: string, context: string, fn: () => T): Promise<T> {
    const attempts = Math.max(1, this.options.maxAttempts ?? 3);
    this.stats.byAction[action] = (this.stats.byAction[action] ?? 0) + 1;
    for (let attempt = 1; ; attempt++) {
      // Read on every attempt: a fault lifted (setFault) while a call backs off lets its retry succeed.
      const fault = this.faults[action] ?? this.faults[service];
      this.count();
      const latency = fault?.latencyMs ?? this.options.defaultLatencyMs ?? 0;
      if (latency > 0) await this.clock.sleep(latency);
      let err: Error | undefined;
      const bucket = this.options.rateLimits === false ? undefined : bucketFor(service, action);
      if (
        (bucket && !this.buckets.get(bucket)?.take(this.clock.nowMs())) ||
        (fault?.throttleRate && this.rng.next() < fault.throttleRate)
      ) {
        this.stats.throttles++;
        this.stats.throttlesByAction[action] = (this.stats.throttlesByAction[action] ?? 0) + 1;
        err = throttleError(service);
      } else if (fault?.errorRate && this.rng.next() < fault.errorRate) {
        this.stats.injectedErrors++;
        err = awsError('InternalError', 'We encountered an internal error. Please try again.', 500);
      }
      if (!err) {
        try {
          return fn();
        } catch (e) {
          throw new CloudError(action, context, (e as Error).name ?? 'Error', false, e);
        }
      }
      if (attempt >= attempts) throw new CloudError(action, context, err.name, true, err);
      // The SDK's standard mode: full jitter on base * 2^attempt, a larger base for throttling.
      const base = err.name === 'InternalError' ? 100 : 500;
      await this.clock.sleep(this.rng.next() * Math.min(20_000, base * 2 ** attempt));
    }
  }

  private count(): void {
    this.stats.calls++;
    const s = Math.floor(this.clock.nowMs() / 1000);
    if (s !== this.second) {
      this.second = s;
      this.inSecond = 0;
    }
    this.inSecond++;
    if (this.inSecond > this.stats.peakPerSecond) this.stats.peakPerSecond = this.inSecond;
  }
}
