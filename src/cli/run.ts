import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createService, type ServiceOptions } from '../app/service.js';
import { createAwsCoordination } from '../aws/cloud.js';
import { UserError } from '../domain/errors.js';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../ports/clock.js';
import { awsCloudFrom } from './cloud.js';
import type { CommandIO } from './io.js';
import { notificationsFor } from './notifications.js';
import { awsSettings, policyPaths, positiveInt, queueUrls } from './runtime.js';
import { shutdownSignal } from './signals.js';

export interface RunOptions {
  cloud: 'aws' | 'sim';
  policies?: string;
  queueUrl?: string[];
  region?: string;
  interval: string;
  pollers: string;
  concurrency: string;
  grace: string;
  port: string;
  scenario?: string;
  speed?: string;
  coordinationTable?: string;
  dryRun: boolean;
  /** false with --no-events. */
  events?: boolean;
  eventsBus?: string;
}

/** Flags refused on each cloud: they belong to the other one, and are refused, never ignored. */
const REFUSED_ON: Record<'aws' | 'sim', { flag: string; given: (o: RunOptions) => boolean; why: string }[]> =
  {
    aws: [
      {
        flag: '--scenario',
        given: (o) => o.scenario !== undefined,
        why: 'it chooses what the simulated region plays',
      },
      {
        flag: '--speed',
        given: (o) => o.speed !== undefined,
        why: "it sets the simulated region's clock; AWS runs on the wall clock",
      },
    ],
    sim: [
      {
        flag: '--region',
        given: (o) => o.region !== undefined,
        why: "the scenario names the simulated region's name",
      },
      {
        flag: '--events-bus',
        given: (o) => o.eventsBus !== undefined,
        why: 'the simulated region publishes on its own bus',
      },
      {
        flag: '--queue-url',
        given: (o) => (o.queueUrl?.length ?? 0) > 0,
        why: 'the simulated region delivers its events to its own queue',
      },
    ],
  };

/** `spotmax run`: the service, on AWS or on the simulated region. Returns 0 after a clean shutdown. */
export async function runCommand(opts: RunOptions, io: CommandIO): Promise<number> {
  const other = opts.cloud === 'aws' ? 'sim' : 'aws';
  for (const rule of REFUSED_ON[opts.cloud]) {
    if (rule.given(opts))
      throw new UserError(`${rule.flag} applies to --cloud ${other} only (${rule.why}); remove it`);
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`--port must be a port number, got "${opts.port}"`);
  // On the simulated region the scenario names its policies; only an explicit folder replaces them.
  const explicit = opts.policies !== undefined || io.env.SPOTMAX_POLICIES !== undefined;
  const paths = opts.cloud === 'aws' || explicit ? policyPaths(opts, io.env) : [];
  const service: Omit<ServiceOptions, 'queueUrls' | 'watchPolicies'> = {
    pollers: positiveInt(opts.pollers, '--pollers'),
    concurrency: positiveInt(opts.concurrency, '--concurrency'),
    graceMs: positiveInt(opts.grace, '--grace') * 1000,
    interval: opts.interval,
    dryRun: opts.dryRun,
    port,
    ...(paths[0] ? { policyDir: paths[0] } : {}),
  };
  const signal = shutdownSignal();

  if (opts.cloud === 'sim') {
    const { runSimDemo } = await import('../simulate/demo.js');
    const speed = Number(opts.speed ?? '30');
    if (!Number.isFinite(speed) || speed <= 0)
      throw new UserError(`--speed must be a positive number, got "${opts.speed}"`);
    return runSimDemo({ ...(opts.scenario ? { scenario: opts.scenario } : {}), speed, signal, service }, io);
  }

  const logger = createLogger({
    pretty: Boolean((io.stdout as { isTTY?: boolean }).isTTY),
    destination: io.stdout,
  });
  const notifications = notificationsFor(opts, io.env);
  const table = opts.coordinationTable ?? (io.env.SPOTMAX_COORDINATION_TABLE || undefined);
  const app = createService({
    cloud: awsCloudFrom(opts, io.env, logger),
    clock: systemClock,
    logger,
    env: io.env,
    ...(notifications ? { notifications } : {}),
    ...(table
      ? { coordination: createAwsCoordination({ ...awsSettings(opts, io.env, 'dynamodb'), table }) }
      : {}),
    options: {
      ...service,
      queueUrls: queueUrls(opts, io.env),
      watchPolicies: true,
      // Unique per task: Fargate gives every task its own host name; the pid and a random part cover the rest.
      replicaId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    },
  });
  await app.start();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await app.stop();
  return 0;
}
