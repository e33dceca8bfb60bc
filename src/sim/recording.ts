import { CloudError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import { awsError, throttleError } from './api.js';

// A decorator around any Cloud (the simulated region's, or the AWS adapters' against moto) that records
// every port call with its arguments and time, and injects faults the way they reach spotmax in AWS:
// a call that fails with an AWS error code, a call throttled past the SDK's retries, or the process
// "dying" after its Nth change (every later call fails, as if the task had been killed between two
// calls). Controller tests assert on `calls` instead of on a hand-written fake's private lists.

export type PortName = 'autoscaling' | 'ec2' | 'queue' | 'metrics';

export interface RecordedCall {
  port: PortName;
  method: string;
  args: unknown[];
  /** Clock time when the call started, ms. */
  at: number;
  /** The error the call ended with, when it failed (injected or not). */
  error?: unknown;
}

/** Port methods that change something: the ones a "dying" process stops between. */
const MUTATING =
  /^(detach|attach|update|put|delete|create|run|start|stop|terminate|complete|record(?!$)|send|change)/;

export interface Recording {
  cloud: Cloud;
  readonly calls: RecordedCall[];
  /** Calls of `method` (any port), in order. */
  callsOf(method: string): RecordedCall[];
  /** The next `times` calls of `method` fail with an AWS error `code` (a CloudError, as adapters throw). */
  failNext(method: string, code: string, times?: number, message?: string): void;
  /** The next `times` calls of `method` fail with `err` as given. */
  failNextWith(method: string, err: unknown, times?: number): void;
  /** The next `times` calls of `method` are throttled past the SDK's retries (a retryable CloudError). */
  throttleNext(method: string, times?: number): void;
  /**
   * The next `times` calls of `method` reach the service twice: the first answer is lost on the way back
   * and the SDK sends the request again (its standard retry mode retries timeouts and broken
   * connections), so the caller sees the second answer, e.g. "not part of group" for a detach that
   * this very call carried out.
   */
  repeatNext(method: string, times?: number): void;
  /** After `n` more successful changing calls, every call fails until revive(). */
  dieAfter(n: number): void;
  revive(): void;
  readonly dead: boolean;
  /** Forgets the calls recorded so far. */
  clear(): void;
}

/** Port methods whose AWS action is not the method name capitalized. */
const ACTIONS: Record<string, string> = {
  describeGroups: 'DescribeAutoScalingGroups',
  updateGroup: 'UpdateAutoScalingGroup',
  putGroupTags: 'CreateOrUpdateTags',
  deleteGroupTags: 'DeleteTags',
  describeHookHeartbeatSeconds: 'DescribeLifecycleHooks',
  describeLaunchTemplateVersion: 'DescribeLaunchTemplateVersions',
  setDeleteOnTermination: 'ModifyInstanceAttribute',
  findInstanceIdsByTag: 'DescribeInstances',
  findVolumeIdsByTag: 'DescribeVolumes',
  receive: 'ReceiveMessage',
  delete: 'DeleteMessage',
  send: 'SendMessage',
  changeVisibility: 'ChangeMessageVisibility',
  check: 'GetQueueAttributes',
  flush: 'PutMetricData',
};

/** The AWS API action a port method calls (detachInstances → DetachInstances), as adapters name it in errors. */
export function awsActionOf(method: string): string {
  return ACTIONS[method] ?? method.charAt(0).toUpperCase() + method.slice(1);
}

export interface RecordingOptions {
  /** Sees each call as it starts, before it runs (tests map it to the IAM request AWS would authorize). */
  onCall?: (call: RecordedCall) => void;
}

export function recordCalls(inner: Cloud, clock: Clock, options: RecordingOptions = {}): Recording {
  const calls: RecordedCall[] = [];
  const faults = new Map<string, (() => unknown)[]>();
  const repeats = new Map<string, number>();
  let changesLeft = Number.POSITIVE_INFINITY;
  let dead = false;

  const queue = (method: string, make: () => unknown, times: number) => {
    faults.set(method, [...(faults.get(method) ?? []), ...Array.from({ length: times }, () => make)]);
  };

  function wrap<T extends object>(port: PortName, target: T): T {
    return new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        const method = prop;
        return (...args: unknown[]) => {
          const call: RecordedCall = { port, method, args, at: clock.now().getTime() };
          calls.push(call);
          options.onCall?.(call);
          const mutating = port !== 'metrics' && MUTATING.test(method);
          if (dead || (mutating && changesLeft <= 0)) {
            dead = true;
            call.error = new Error(`process died before ${port}.${method}`);
            return Promise.reject(call.error);
          }
          const injected = faults.get(method)?.shift();
          if (injected) {
            call.error = injected();
            return Promise.reject(call.error);
          }
          if (mutating) changesLeft--;
          const invoke = () => (value as (...a: unknown[]) => unknown).apply(obj, args);
          const repeat = repeats.get(method) ?? 0;
          if (repeat > 0) repeats.set(method, repeat - 1);
          const result = repeat > 0 ? Promise.resolve().then(invoke).then(invoke, invoke) : invoke();
          if (result instanceof Promise) {
            return result.catch((err: unknown) => {
              call.error = err;
              throw err;
            });
          }
          return result;
        };
      },
    });
  }

  const cloud: Cloud = {
    region: inner.region,
    autoscaling: wrap('autoscaling', inner.autoscaling),
    ec2: wrap('ec2', inner.ec2),
    queue: wrap('queue', inner.queue),
    metrics: wrap('metrics', inner.metrics),
  };

  return {
    cloud,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    failNext(method, code, times = 1, message = `injected ${code}`) {
      queue(
        method,
        () =>
          new CloudError(
            awsActionOf(method),
            `injected fault in ${method}`,
            code,
            false,
            awsError(code, message),
          ),
        times,
      );
    },
    failNextWith(method, err, times = 1) {
      queue(method, () => err, times);
    },
    throttleNext(method, times = 1) {
      const service = method in inner.ec2 ? 'ec2' : 'autoscaling';
      queue(
        method,
        () => {
          const err = throttleError(service);
          return new CloudError(awsActionOf(method), `injected throttle in ${method}`, err.name, true, err);
        },
        times,
      );
    },
    repeatNext(method, times = 1) {
      repeats.set(method, (repeats.get(method) ?? 0) + times);
    },
    dieAfter(n) {
      changesLeft = n;
    },
    revive() {
      changesLeft = Number.POSITIVE_INFINITY;
      dead = false;
    },
    get dead() {
      return dead;
    },
    clear() {
      calls.length = 0;
    },
  };
}
