import { loadPolicies, type PolicySet } from '../config/load.js';
import { resolveGroups } from '../config/resolve.js';
import { createPolicyWatcher, policyReadiness } from '../config/watch.js';
import { createInterruptionController } from '../controllers/interruption/controller.js';
import { createDirectory } from '../controllers/interruption/directory.js';
import { volumeLaunchPreparer } from '../controllers/reconcile/launch-volume.js';
import { ReconcileLoop } from '../controllers/reconcile/loop.js';
import { createStandbyHook } from '../controllers/reconcile/standby-hook.js';
import { UserError } from '../domain/errors.js';
import { STANDBY_FOR_TAG } from '../domain/tags.js';
import type { Group, Instance } from '../domain/types.js';
import { createHeartbeats, runChecks } from '../observability/checks.js';
import { countErrors } from '../observability/error-metric.js';
import { fanOutMetrics, startMetricsFlusher } from '../observability/fanout.js';
import { startHealthServer } from '../observability/health-server.js';
import { createLogger } from '../observability/logger.js';
import { PrometheusRegistry } from '../observability/prometheus.js';
import { systemClock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import { createReleaserFactory } from '../release/factory.js';
import { awsCloudFrom } from './cloud.js';
import type { CommandIO } from './io.js';
import { isOptedIn } from './plan-report.js';
import { withReceiveHeartbeat } from './queue-heartbeat.js';
import { policyPaths, positiveInt, queueUrls } from './runtime.js';
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
  speed: string;
  dryRun: boolean;
}

const EMPTY_POLICIES: PolicySet = { policies: [], issues: [], rejected: [], files: [] };
/** A reconcile pass is due at least this often (cron default: every minute); older means wedged. */
const RECONCILE_STALE_MS = 15 * 60_000;
/** A long poll returns within 20 s; three missed turns mean the receive loop is stuck. */
const RECEIVE_STALE_MS = 2 * 60_000;

/** `spotmax run`: the service. Returns 0 after a clean shutdown on SIGTERM/SIGINT. */
export async function runCommand(opts: RunOptions, io: CommandIO): Promise<number> {
  const signal = shutdownSignal();
  if (opts.cloud === 'sim') {
    const { runSimDemo } = await import('../simulate/demo.js');
    const speed = Number(opts.speed);
    if (!Number.isFinite(speed) || speed <= 0)
      throw new UserError(`--speed must be a positive number, got "${opts.speed}"`);
    return runSimDemo(
      {
        ...(opts.scenario ? { scenario: opts.scenario } : {}),
        ...(opts.policies ? { policies: opts.policies } : {}),
        speed,
        port: Number(opts.port),
        signal,
      },
      io,
    );
  }
  return runService(opts, io, signal);
}

async function runService(opts: RunOptions, io: CommandIO, signal: AbortSignal): Promise<number> {
  const clock = systemClock;
  const baseLogger = createLogger({
    pretty: Boolean((io.stdout as { isTTY?: boolean }).isTTY),
    destination: io.stdout,
  });
  const pollers = positiveInt(opts.pollers, '--pollers');
  const concurrency = positiveInt(opts.concurrency, '--concurrency');
  const graceMs = positiveInt(opts.grace, '--grace') * 1000;
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`--port must be a port number, got "${opts.port}"`);
  const queues = queueUrls(opts, io.env);
  const paths = policyPaths(opts, io.env);
  const base = awsCloudFrom(opts, io.env, baseLogger);

  const heartbeats = createHeartbeats(clock);
  const prometheus = new PrometheusRegistry();
  const metrics = fanOutMetrics([base.metrics, prometheus], baseLogger);
  // Every error line also counts one Errors datum: the stack's alarm watches it.
  const logger = countErrors(baseLogger, metrics);
  const cloud: Cloud = {
    ...base,
    metrics,
    queue: withReceiveHeartbeat(base.queue, () => heartbeats.beat('events')),
  };

  let policies: PolicySet = EMPTY_POLICIES;
  let standbys = new Map<string, Instance[]>();
  const resolve = (groups: Group[], set: PolicySet) => resolveGroups(groups, set).filter(isOptedIn);
  const releasersFor = createReleaserFactory({ clock, logger, metrics, env: io.env });
  const directory = createDirectory({
    cloud,
    resolve: (groups) => resolve(groups, policies),
    clock,
    ttlMs: 10_000,
  });
  const loop = new ReconcileLoop<PolicySet>({
    cloud,
    clock,
    logger: logger.child({ component: 'reconcile' }),
    loadPolicies: () => policies,
    resolve,
    releasersFor,
    dryRun: opts.dryRun,
    schedule: opts.interval,
    onPass: () => {
      heartbeats.beat('reconcile');
      // The loop's merged view, not this pass's groups: a one-group pass must not drop the others.
      const latest = loop.latest();
      if (!latest) return;
      directory.update(latest.resolved, latest.observation.instances);
      standbys = groupStandbys(latest.observation.standbys);
    },
  });
  const watcher = createPolicyWatcher<PolicySet>({
    dir: paths[0] ?? 'policies',
    load: loadPolicies,
    logger,
    metrics,
    clock,
    onChange: (set) => {
      policies = set;
      // New policies can change every group's desired state: look again now, not at the next tick.
      void loop.runOnce();
    },
  });
  const controller =
    queues.length > 0
      ? createInterruptionController({
          cloud,
          clock,
          logger: logger.child({ component: 'interruption' }),
          queueUrls: queues,
          pollers,
          concurrency,
          dryRun: opts.dryRun,
          directory,
          releasersFor,
          onGroupTouched: (group) => loop.requeue(group),
          standby: createStandbyHook({
            cloud,
            clock,
            logger,
            standbysFor: (group) => standbys.get(group) ?? [],
          }),
          prepareLaunch: volumeLaunchPreparer({ cloud, clock, logger }),
        })
      : undefined;
  if (!controller)
    logger.warn(
      {},
      'no queue configured (--queue-url or SPOTMAX_QUEUE_URL): interruption events are not handled',
    );

  const health = await startHealthServer({
    port,
    logger,
    metrics: prometheus,
    checks: {
      live: () => heartbeats.live(),
      ready: () =>
        runChecks(
          {
            policies: () => policyReadiness(watcher),
            aws: async () => {
              await base.autoscaling.describeScalingActivities('spotmax-readiness-probe', 1).catch((err) => {
                // A group that does not exist proves the API answers; anything else (credentials, network) does not.
                if (!/not found|ValidationError|does not exist/i.test(String(err?.message ?? err))) throw err;
              });
            },
            ...Object.fromEntries(
              queues.map((q, i) => [`queue${queues.length > 1 ? i + 1 : ''}`, () => base.queue.check(q)]),
            ),
          },
          { clock, timeoutMs: 3000 },
        ),
    },
  });
  logger.info(
    { port: health.port, queues, policies: paths, dryRun: opts.dryRun, interval: opts.interval },
    'spotmax running',
  );

  if (paths.length > 0) await watcher.start();
  heartbeats.register('reconcile', RECONCILE_STALE_MS);
  loop.start();
  void loop.runOnce();
  if (controller) {
    heartbeats.register('events', RECEIVE_STALE_MS);
    controller.start();
  }
  const flusher = startMetricsFlusher({ metrics, clock, intervalMs: 60_000, logger });

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info({ graceMs }, 'shutting down: no new messages; in-flight work may finish');
  // Unfinished messages are not deleted: they reappear on the queue for the next task.
  await controller?.stop(graceMs);
  await loop.stop();
  await watcher.close();
  await flusher.stop();
  await health.close();
  prometheus.close();
  logger.info({}, 'stopped');
  return 0;
}

function groupStandbys(all: readonly Instance[]): Map<string, Instance[]> {
  const byGroup = new Map<string, Instance[]>();
  for (const s of all) {
    const group = s.tags[STANDBY_FOR_TAG];
    if (!group) continue;
    const list = byGroup.get(group) ?? [];
    list.push(s);
    byGroup.set(group, list);
  }
  return byGroup;
}
