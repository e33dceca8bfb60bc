import { type Clock, systemClock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { CoordinationPort } from '../ports/coordination.js';
import type { Logger } from '../ports/logger.js';
import { AwsAutoScaling } from './autoscaling.js';
import { createAwsClients, createDynamoDbClient, createEksClient, type OnCall } from './clients.js';
import { CloudWatchMetrics } from './cloudwatch-metrics.js';
import { AwsCoordination } from './coordination.js';
import { AwsEc2 } from './ec2.js';
import { AwsEks } from './eks.js';
import { AwsQueue } from './sqs.js';

export interface AwsCloudOptions {
  region: string;
  /** One endpoint for every service (moto, a proxy); unset in production, where the SDK resolves it. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
  /** Per-attempt HTTP request limit; default 30 s. */
  requestTimeoutMs?: number;
  metricsNamespace?: string;
  logger?: Logger;
  /** Called once per SDK command sent, with its input; tests count calls and check IAM with it. */
  onCall?: OnCall;
}

/** The AWS implementation of every port, sharing one set of SDK clients. */
export function createAwsCloud(opts: AwsCloudOptions): Cloud {
  const clients = createAwsClients(opts);
  return {
    region: opts.region,
    autoscaling: new AwsAutoScaling(clients.autoscaling),
    ec2: new AwsEc2(clients.ec2),
    queue: new AwsQueue(clients.sqs),
    metrics: new CloudWatchMetrics(clients.cloudwatch, opts.metricsNamespace ?? 'SpotMax', opts.logger),
    eks: new AwsEks({ defaultRegion: opts.region, clientFor: (region) => createEksClient(opts, region) }),
  };
}

export interface AwsCoordinationFactoryOptions
  extends Pick<AwsCloudOptions, 'region' | 'endpoint' | 'credentials' | 'maxAttempts' | 'onCall'> {
  /** The DynamoDB table (string key `pk`, TTL on `expiresAt`): SPOTMAX_COORDINATION_TABLE. */
  table: string;
  /** Expiries are written and compared by this clock; the system clock unless a test injects one. */
  clock?: Clock;
  /**
   * Per-attempt HTTP limit; default 2 s. A claim sits on the warning-to-detach path, where 30 s (the
   * Cloud's default) would eat the warning: a store that does not answer in 2 s is treated as down.
   */
  requestTimeoutMs?: number;
}

/**
 * The coordination store on DynamoDB. Separate from the Cloud on purpose: only `run` with a table uses
 * it, and the service takes it as its own dependency (absent: single-process).
 */
export function createAwsCoordination(opts: AwsCoordinationFactoryOptions): CoordinationPort {
  const client = createDynamoDbClient({ ...opts, requestTimeoutMs: opts.requestTimeoutMs ?? 2_000 });
  return new AwsCoordination({ client, table: opts.table, clock: opts.clock ?? systemClock });
}
