import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import { AwsAutoScaling } from './autoscaling.js';
import { createAwsClients } from './clients.js';
import { CloudWatchMetrics } from './cloudwatch-metrics.js';
import { AwsEc2 } from './ec2.js';
import { AwsQueue } from './sqs.js';
import { AwsTagging } from './tagging.js';

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
  /** Called once per SDK command sent; tests count calls with it. */
  onCall?: (service: string, command: string) => void;
}

/** The AWS implementation of every port, sharing one set of SDK clients. */
export function createAwsCloud(opts: AwsCloudOptions): Cloud {
  const clients = createAwsClients(opts);
  return {
    region: opts.region,
    autoscaling: new AwsAutoScaling(clients.autoscaling),
    ec2: new AwsEc2(clients.ec2),
    tagging: new AwsTagging(clients.tagging),
    queue: new AwsQueue(clients.sqs),
    metrics: new CloudWatchMetrics(clients.cloudwatch, opts.metricsNamespace ?? 'SpotMax', opts.logger),
  };
}
