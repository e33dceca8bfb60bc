import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsService } from './permissions.js';

export interface AwsClientOptions {
  region: string;
  /** One endpoint for every service: a local emulator (moto) or a proxy in tests. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Attempts per call including the first (SDK standard retry mode); default 3. */
  maxAttempts?: number;
  /** Per-attempt limit for one HTTP request; default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Called once per command sent (not per retry attempt), with the command's input; the command waits
   * for a returned promise (tests record each request's resources and tags for the IAM check with it).
   */
  onCall?: OnCall;
}

export interface AwsClients {
  autoscaling: AutoScalingClient;
  ec2: EC2Client;
  sqs: SQSClient;
  cloudwatch: CloudWatchClient;
}

export type OnCall = (service: string, command: string, input?: unknown) => void | Promise<void>;

interface MiddlewareHost {
  middlewareStack: {
    add(
      mw: (
        next: (args: { input?: unknown }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input?: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** Reports each command once, in the initialize step, before retries multiply it. */
function countCalls(client: MiddlewareHost, service: AwsService, onCall: OnCall): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      await onCall(service, (context.commandName ?? 'Unknown').replace(/Command$/, ''), args.input);
      return next(args);
    },
    { step: 'initialize', name: 'spotmaxCountCalls' },
  );
}

/** The configuration every client shares: region, endpoint, credentials, retries and timeouts. */
function baseConfig(opts: AwsClientOptions) {
  // Standard retry mode: throttling and 5xx are retried with exponential backoff and jitter, bounded
  // by a retry quota so a failing region does not get hammered.
  return {
    region: opts.region,
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? 3,
    // Without these a half-open connection hangs a call for minutes (the SDK sets no timeout). 30 s sits
    // above SQS's 20 s long poll and well above any describe; each retry attempt gets its own budget.
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      connectionTimeout: 5_000,
      // Recent Smithy handlers only log a warning on timeout unless told to fail the request.
      throwOnRequestTimeout: true,
    },
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  };
}

/**
 * The coordination store's client, apart from the Cloud's: only `run` with a coordination table needs
 * it, and its calls sit on the fast path, so the caller picks a shorter request timeout.
 */
export function createDynamoDbClient(opts: AwsClientOptions): DynamoDBClient {
  const client = new DynamoDBClient(baseConfig(opts));
  if (opts.onCall) countCalls(client as unknown as MiddlewareHost, 'dynamodb', opts.onCall);
  return client;
}

/**
 * An EKS client for `region` (a kubernetes.eks setting may name another region than the Cloud's): only
 * groups that drain EKS nodes need it, so it is made on first use by aws/eks.ts.
 */
export function createEksClient(opts: AwsClientOptions, region: string): EKSClient {
  const client = new EKSClient(baseConfig({ ...opts, region }));
  if (opts.onCall) countCalls(client as unknown as MiddlewareHost, 'eks', opts.onCall);
  return client;
}

/**
 * The notifications' EventBridge client, apart from the Cloud's: only `run` and `apply` with events on
 * use it (aws/events.ts).
 */
export function createEventBridgeClient(opts: AwsClientOptions): EventBridgeClient {
  const client = new EventBridgeClient(baseConfig(opts));
  if (opts.onCall) countCalls(client as unknown as MiddlewareHost, 'events', opts.onCall);
  return client;
}

export function createAwsClients(opts: AwsClientOptions): AwsClients {
  const base = baseConfig(opts);
  const clients: AwsClients = {
    autoscaling: new AutoScalingClient(base),
    ec2: new EC2Client(base),
    sqs: new SQSClient(base),
    // moto rejects gzipped bodies, and PutMetricData batches are small enough to send plain.
    cloudwatch: new CloudWatchClient({ ...base, disableRequestCompression: true }),
  };
  if (opts.onCall) {
    for (const [service, client] of Object.entries(clients)) {
      countCalls(client as unknown as MiddlewareHost, service as AwsService, opts.onCall);
    }
  }
  return clients;
}
