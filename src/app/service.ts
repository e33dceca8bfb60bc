import { loadPolicies, loadPoliciesOrFail, type PolicySet } from '../config/load.js';
import { createPolicyWatcher, type PolicyWatcherStatus, policyReadiness } from '../config/watch.js';
import {
  createInterruptionController,
  type InterruptionController,
} from '../controllers/interruption/controller.js';
import { createDirectory } from '../controllers/interruption/directory.js';
import { volumeLaunchPreparer } from '../controllers/reconcile/launch-volume.js';
import { ReconcileLoop } from '../controllers/reconcile/loop.js';
import type { ReconcileResult } from '../controllers/reconcile/pass.js';
import { createStandbyHook } from '../controllers/reconcile/standby-hook.js';
import { describeError } from '../domain/errors.js';
import { createHeartbeats, runChecks } from '../observability/checks.js';
import { countErrors } from '../observability/error-metric.js';
import { fanOutMetrics, startMetricsFlusher } from '../observability/fanout.js';
import { type HealthServer, startHealthServer } from '../observability/health-server.js';
import { createNotifier, noNotifier } from '../observability/notifier.js';
import { passReporting } from '../observability/pass-reporting.js';
import { PrometheusRegistry } from '../observability/prometheus.js';
import type { Clock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { CoordinationPort } from '../ports/coordination.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import type { NotificationsPort } from '../ports/notifications.js';
import { createReleaserFactory, type ReleaserFactory } from '../release/factory.js';
import { withDeadline } from '../timing/deadline.js';
import { dryRunCloud, fencedCloud, pacedWrites } from './guarded-cloud.js';
import { createLeadership, type Leadership } from './leadership.js';
import { withReceiveHeartbeat } from './queue-heartbeat.js';
import { memoizedResolve } from './resolve.js';

// The one composition root: the service (`spotmax run`) built from a cloud, a clock and options. The AWS
// region (cli/run.ts), the demo on the simulated region (simulate/demo.ts) and the spotmax strategy of
// `simulate` (simulate/strategies/spotmax.ts) all build it here; they differ only in the cloud, the clock
// and what they print. Parts: the policy watcher, the reconcile loop (its cron schedule waited for on
// `clock`), the interruption controller with the standby hook and the launch-volume preparer, the group
// directory and standby index both fed from the loop's passes, heartbeats, /healthz /readyz /metrics,
// the metrics fan-out (the cloud's sink + Prometheus) and its one flusher.

export interface ServiceOptions {
  /** Queues with interruption events; none: the fast path is off (logged as a warning). */
  queueUrls: string[];
  /** Receive loops per queue. */
  pollers: number;
  /** Messages handled at once. */
  concurrency: number;
  /** Reconcile schedule, a cron expression. */
  interval: string;
  /** On stop, how long in-flight interruption work may finish. */
  graceMs: number;
  dryRun: boolean;
  /** Policy folder; none: built-in defaults only. */
  policyDir?: string;
  /**
   * Watch the policy folder and reload on change (the service); false loads it once and fails `start`
   * on any problem (a simulation must not run on the wrong policies).
   */
  watchPolicies: boolean;
  /** With watchPolicies false: start on the valid policies despite problems (simulate --allow-policy-problems). */
  allowPolicyProblems?: boolean;
  /** HTTP port for /healthz /readyz /metrics (0: any free port); undefined: no HTTP server. */
  port?: number;
  host?: string;
  /** How often metrics are flushed to the cloud's sink (CloudWatch). */
  metricsFlushMs?: number;
  /** This replica's name in the coordination store (the task id). */
  replicaId?: string;
}

export interface ServiceDeps {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /**
   * The release steps for a group's settings; default: Kubernetes drain and Consul deregistration as the
   * settings enable them. The simulated region has neither, so it passes no-op steps.
   */
  releasersFor?: ReleaserFactory;
  /** Environment values the release steps read (consul.tokenEnv), from the composition root. */
  env?: Record<string, string | undefined>;
  /**
   * The store several replicas coordinate through (DynamoDB; the simulated region's own): a leader lease
   * for the reconciler and a claim per instance on the fast path. None: this replica is the only one.
   */
  coordination?: CoordinationPort;
  /**
   * The bus where every action taken and every problem found is published (EventBridge; the simulated
   * region's `events`). None, or a dry run: nothing is published.
   */
  notifications?: NotificationsPort;
  options: ServiceOptions;
  /** Called before each /metrics scrape (the demo adds the simulated region's gauges). */
  beforeScrape?: (metrics: MetricsPort) => void;
}

export interface Service {
  /** Loads policies, starts the HTTP server, the loop (with one pass at once) and the event loop. */
  start(): Promise<void>;
  /** Stops receiving, lets in-flight work finish within the grace, stops the rest; never throws. */
  stop(): Promise<void>;
  readonly loop: ReconcileLoop<PolicySet>;
  readonly controller: InterruptionController | undefined;
  /** Every metric the service records (the cloud's sink and Prometheus). */
  readonly metrics: MetricsPort;
  readonly logger: Logger;
  readonly leadership: Leadership;
  /** The HTTP server's port once started. */
  readonly port: number | undefined;
  policies(): PolicySet;
  policyStatus(): PolicyWatcherStatus;
  /** Listens to every pass (the demo and the simulation count actions). */
  onPass(listener: (result: ReconcileResult) => void): void;
}

const EMPTY_POLICIES: PolicySet = { policies: [], issues: [], rejected: [], files: [] };
/** A reconcile pass is due at least this often (cron default: every minute); older means wedged. */
const RECONCILE_STALE_MS = 15 * 60_000;
/** A long poll returns within 20 s; three missed turns mean the receive loop is stuck. */
const RECEIVE_STALE_MS = 2 * 60_000;
/** Directory misses describe the region at most this often (a storm of foreign ids costs one call). */
const DIRECTORY_TTL_MS = 10_000;
/** A readiness name that cannot be a group's: DescribeAutoScalingGroups answers it with no group. */
const READINESS_PROBE_GROUP = 'spotmax-readiness-probe';

export function createService(deps: ServiceDeps): Service {
  const { clock, options } = deps;
  const heartbeats = createHeartbeats(clock);
  const prometheus = new PrometheusRegistry();
  const metrics = fanOutMetrics([deps.cloud.metrics, prometheus], deps.logger);
  // Every error line also counts one Errors datum: the stack's alarm watches it.
  const logger = countErrors(deps.logger, metrics);
  const acting = options.dryRun ? dryRunCloud(deps.cloud, logger) : deps.cloud;
  const cloud: Cloud = {
    ...acting,
    metrics,
    queue: withReceiveHeartbeat(acting.queue, () => heartbeats.beat('events')),
  };
  const replicaId = options.replicaId ?? 'spotmax';
  const leadership = createLeadership({
    coordination: deps.coordination,
    holder: replicaId,
    clock,
    logger,
    metrics,
  });
  // The reconciler changes the region only while this replica is the leader at its epoch (fencing),
  // checked after its EC2 writes waited for their token (pacing), right before each goes out. A dry run
  // sends nothing, so it waits for nothing.
  const fenced = deps.coordination ? fencedCloud(cloud, leadership) : cloud;
  // A write still waiting for its token when the service stops gives up (its pass ends, the next process
  // does it): the wait must not hold the shutdown, and on a stopped virtual clock it would never end.
  const stopping = new AbortController();
  const reconcilerCloud = options.dryRun ? fenced : pacedWrites(fenced, clock, stopping.signal);

  const releasersFor =
    deps.releasersFor ??
    createReleaserFactory({ clock, logger, metrics, env: deps.env ?? {}, eks: deps.cloud.eks });
  let policies: PolicySet = EMPTY_POLICIES;
  let onceStatus: PolicyWatcherStatus = { ok: true, policies: 0 };
  const passListeners: ((result: ReconcileResult) => void)[] = [];
  const resolve = memoizedResolve();
  const directory = createDirectory({
    cloud,
    resolve: (groups) => resolve(groups, policies),
    clock,
    ttlMs: DIRECTORY_TTL_MS,
  });
  // Never in a dry run: nothing was done, and a rule routing to a ticket queue must not see rehearsals.
  const notifier =
    deps.notifications && !options.dryRun
      ? createNotifier({ port: deps.notifications, clock, logger, metrics, region: deps.cloud.region })
      : noNotifier;
  const reporting = passReporting({
    metrics,
    notifier,
    standbysFor: (group) => loop.standbysFor(group),
    isLeader: () => leadership.isLeader(),
  });
  const loop = new ReconcileLoop<PolicySet>({
    cloud: reconcilerCloud,
    clock,
    logger: logger.child({ component: 'reconcile' }),
    loadPolicies: () => policies,
    resolve,
    releasersFor,
    dryRun: options.dryRun,
    schedule: options.interval,
    mayAct: () => leadership.isLeader(),
    // Each action's log line names the epoch it was fenced at.
    ...(deps.coordination ? { leaseEpoch: () => leadership.status().epoch } : {}),
    onPassTimed: reporting.onPassTimed,
    onPass: (result, groupNames) => {
      heartbeats.beat('reconcile');
      // A one-group pass updates that group's entries alone; a full pass all of them (and completes the index).
      // Not awaited: a full update is taken in over turns of the event loop, in order with later ones.
      if (groupNames) void directory.updateGroups(groupNames, result.resolved);
      else void directory.update(result.resolved);
      for (const listener of passListeners) listener(result);
      // Last, and on its own: metrics or events must never keep the directory from its update.
      try {
        reporting.onPass(result, groupNames);
      } catch (err) {
        logger.warn({ err: describeError(err) }, 'recording the pass (metrics, events) failed');
      }
    },
  });
  const watcher = createPolicyWatcher<PolicySet>({
    dir: options.policyDir ?? 'policies',
    load: loadPolicies,
    logger,
    metrics,
    clock,
    onChange: (set) => {
      policies = set;
      // New policies can change every group's desired state: look again now, not at the next tick.
      if (started) void loop.runOnce();
    },
  });
  const interruptionLogger = logger.child({ component: 'interruption' });
  const claims = deps.coordination ? { store: deps.coordination, holder: replicaId } : undefined;
  const controller =
    options.queueUrls.length > 0
      ? createInterruptionController({
          cloud,
          clock,
          logger: interruptionLogger,
          queueUrls: options.queueUrls,
          pollers: options.pollers,
          concurrency: options.concurrency,
          dryRun: options.dryRun,
          directory,
          releasersFor,
          onGroupTouched: (group) => loop.requeue(group),
          standby: createStandbyHook({
            cloud,
            clock,
            logger: interruptionLogger,
            standbysFor: (group) => loop.standbysFor(group),
            ...(claims ? { claims } : {}),
          }),
          prepareLaunch: volumeLaunchPreparer({ cloud, clock, logger: interruptionLogger }),
          notify: (notice) => notifier.notify(notice),
          ...(claims ? { claims } : {}),
        })
      : undefined;

  const policyStatus = (): PolicyWatcherStatus =>
    options.policyDir && options.watchPolicies ? watcher.status() : onceStatus;
  const ready = () =>
    runChecks(
      {
        policies: () => policyReadiness({ status: policyStatus }),
        // Informational: a follower is ready (it serves plan and the fast path); this says which it is.
        leader: () => {
          const l = leadership.status();
          return { ok: true, message: l.leader ? `leader (epoch ${l.epoch ?? 0})` : `follower: ${l.reason}` };
        },
        cloud: async () => {
          await cloud.autoscaling.describeGroups([READINESS_PROBE_GROUP]);
        },
        ...Object.fromEntries(
          options.queueUrls.map((q, i) => [
            `queue${options.queueUrls.length > 1 ? i + 1 : ''}`,
            () => deps.cloud.queue.check(q),
          ]),
        ),
      },
      { clock, timeoutMs: 3000 },
    );

  let started = false;
  let health: HealthServer | undefined;
  let flusher: { stop(): Promise<void> } | undefined;

  return {
    loop,
    controller,
    metrics,
    logger,
    leadership,
    get port() {
      return health?.port;
    },
    policies: () => policies,
    policyStatus,
    onPass: (listener) => {
      passListeners.push(listener);
    },
    async start() {
      if (options.policyDir && options.watchPolicies) {
        await watcher.start();
      } else if (options.policyDir) {
        const set = options.allowPolicyProblems
          ? await loadPolicies([options.policyDir])
          : await loadPoliciesOrFail([options.policyDir]);
        policies = set;
        onceStatus = { ok: true, policies: set.policies.length };
      }
      if (options.port !== undefined) {
        health = await startHealthServer({
          port: options.port,
          ...(options.host ? { host: options.host } : {}),
          logger,
          metrics: {
            exposition: () => {
              deps.beforeScrape?.(metrics);
              return prometheus.exposition();
            },
          },
          checks: { live: () => heartbeats.live(), ready },
        });
      }
      if (!controller)
        logger.warn(
          {},
          'no queue configured (--queue-url or SPOTMAX_QUEUE_URL): interruption events are not handled',
        );
      logger.info(
        {
          port: health?.port,
          queues: options.queueUrls,
          policies: options.policyDir ?? null,
          dryRun: options.dryRun,
          interval: options.interval,
        },
        'spotmax running',
      );
      started = true;
      if (!deps.coordination && !options.dryRun)
        logger.info(
          { replicaId },
          'no coordination table (--coordination-table): run one replica only; two would act twice',
        );
      await leadership.start();
      heartbeats.register('reconcile', RECONCILE_STALE_MS);
      loop.start();
      void loop.runOnce();
      if (controller) {
        heartbeats.register('events', RECEIVE_STALE_MS);
        controller.start();
      }
      flusher = startMetricsFlusher({ metrics, clock, intervalMs: options.metricsFlushMs ?? 10_000, logger });
    },
    async stop() {
      logger.info({ graceMs: options.graceMs }, 'shutting down: no new messages; in-flight work may finish');
      // Unfinished messages are not deleted: they reappear on the queue for the next task.
      await controller?.stop(options.graceMs);
      stopping.abort(new Error('spotmax is stopping: the write waited for its turn and was not sent'));
      await loop.stop();
      // Hand the lease over now rather than when it runs out: the next leader acts at once.
      await leadership.stop();
      await watcher.close();
      // The last actions' events go out before the last metrics (which count them) are flushed.
      await withDeadline(() => notifier.flush(), {
        clock,
        ms: 5_000,
        what: 'publishing the last events',
      }).catch((err) =>
        logger.warn({ err: describeError(err) }, 'some events were not published before stopping'),
      );
      await flusher?.stop();
      await health?.close();
      prometheus.close();
      logger.info({}, 'stopped');
    },
  };
}
