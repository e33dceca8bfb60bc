import { describeError } from '../domain/errors.js';
import { MetricNames } from '../observability/metric-names.js';
import type { Clock } from '../ports/clock.js';
import { type CoordinationPort, SKEW_MARGIN_MS } from '../ports/coordination.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import { withDeadline } from '../timing/deadline.js';
import { every } from '../timing/every.js';

// The reconciler's leader lease: of several replicas, one changes the region and the others observe,
// plan and serve `plan` (the fast path runs on every replica, coordinated per instance by claims).
// The lease lasts LEASE_MS and is renewed every RENEW_MS, well before it ends, so a leader survives two
// failed renewals. A follower tries again right when the leader's lease (plus the store's skew margin)
// runs out rather than on its next tick, so a dead leader is replaced within LEASE_MS + SKEW_MARGIN_MS
// (14 s) of its last renewal: within the ~15 s the issue of record asks for.
// Fencing: every change of the reconciler first checks (holder, epoch) in the store (`stillLeader`), so
// a leader paused past its lease (a long GC, a frozen task) cannot act once another replica took over.
// Without a store (the laptop, the simulated demo) this replica is the leader.

export const LEASE_NAME = 'reconciler';
export const LEASE_MS = 12_000;
export const RENEW_MS = 4_000;
/** How long after the takeover moment a follower tries, and the shortest wait between its tries. */
const TAKEOVER_SLACK_MS = 100;
/** A store that does not answer in this long counts as lost: mutations pause rather than wait. */
const STORE_CALL_MS = 2_000;
// No fencing check is reused: every change reads (holder, epoch) first. Measured on scale-large (500
// groups x 100 instances, checkLease calls counted per pass): a steady full pass changes nothing (0 reads);
// the heaviest pass, adopting all 50,000 members, makes 500 CreateTags over 90 s (EC2's mutating-call
// rate), which a 1 s reuse cut to 64 reads. 500 consistent GetItems are 500 read units and, at 4.4 ms
// p50 / 24 ms p99 against moto (bench/replicas.ts), ~2 s spread over those 90 s; in exchange no reused
// "yes" lets a change through after the lease moved on.

export interface Leadership {
  /** Whether this replica holds the lease now (by its own clock); always true without a store. */
  isLeader(): boolean;
  /** The fencing check before a change: the store still says (holder, epoch) holds the lease. */
  stillLeader(): Promise<boolean>;
  /** Why the last renewal or fencing check said no (the lease was taken over, the store does not answer). */
  refusalReason(): string;
  /** Why this replica does not act, for /readyz and plan (undefined while it is the leader). */
  status(): { leader: boolean; holder?: string; epoch?: number; reason?: string };
  start(): Promise<void>;
  /** Stops renewing and releases the lease so another replica takes over at once. */
  stop(): Promise<void>;
}

export interface LeadershipDeps {
  coordination: CoordinationPort | undefined;
  /** This replica's name in the store (the task id). */
  holder: string;
  clock: Clock;
  logger: Logger;
  metrics: MetricsPort;
}

export function createLeadership(deps: LeadershipDeps): Leadership {
  const { coordination: store, holder, clock, logger, metrics } = deps;
  if (!store) {
    return {
      isLeader: () => true,
      stillLeader: async () => true,
      refusalReason: () => 'not refused: no coordination store, this replica is the only one',
      status: () => ({ leader: true }),
      // The only replica always acts: say so on the Leader gauge, as a lease holder does.
      start: async () => metrics.record({ name: MetricNames.Leader, value: 1, unit: 'None' }),
      stop: async () => {},
    };
  }
  let held = false;
  let epoch = 0;
  let until = 0;
  let current = '';
  let reason: string | undefined = 'not acquired yet';
  /** When another holder's lease can be taken over (its expiry plus the skew margin), by this clock. */
  let takeoverAt = Number.POSITIVE_INFINITY;
  const stopping = new AbortController();
  let renewing: Promise<void> | undefined;

  const call = <T>(what: string, work: () => Promise<T>) =>
    withDeadline(work, { clock, ms: STORE_CALL_MS, what, signal: stopping.signal });

  const record = () => metrics.record({ name: MetricNames.Leader, value: isLeader() ? 1 : 0, unit: 'None' });

  const isLeader = () => held && clock.now().getTime() < until;

  const renew = async () => {
    const was = isLeader();
    const startedAt = clock.now().getTime();
    try {
      const lease = await call('renewing the leader lease', () =>
        store.acquireLease(LEASE_NAME, holder, LEASE_MS),
      );
      held = lease.held;
      current = lease.holder;
      takeoverAt = lease.held ? Number.POSITIVE_INFINITY : lease.expiresAt.getTime() + SKEW_MARGIN_MS;
      // The hold is counted from before the call by this replica's clock: never longer than the store's.
      until = lease.held ? startedAt + LEASE_MS : 0;
      epoch = lease.epoch;
      reason = lease.held ? undefined : `${lease.holder} is the leader`;
    } catch (err) {
      // Keep what we hold until it runs out by our own clock; meanwhile the store may come back.
      reason = `the coordination store does not answer: ${describeError(err)}`;
      logger.warn({ err: describeError(err) }, 'renewing the leader lease failed');
    }
    if (isLeader() !== was)
      logger.info(
        { holder, epoch, leader: isLeader(), current },
        isLeader() ? `leader of the reconciler (epoch ${epoch})` : `not the leader: ${reason}`,
      );
    record();
  };

  return {
    isLeader,
    async stillLeader() {
      if (!isLeader()) return false;
      try {
        const ok = await call('checking the leader lease', () => store.checkLease(LEASE_NAME, holder, epoch));
        if (!ok) {
          held = false;
          reason = 'the lease was taken over';
          record();
        }
        return ok;
      } catch (err) {
        reason = `the coordination store does not answer: ${describeError(err)}`;
        return false;
      }
    },
    refusalReason: () => reason ?? 'the lease ran out',
    status: () => ({
      leader: isLeader(),
      ...(current ? { holder: current } : {}),
      epoch,
      ...(isLeader() ? {} : { reason: reason ?? 'the lease ran out' }),
    }),
    async start() {
      await renew();
      // A follower wakes just after the leader's lease can be taken (a few ms late: the store's condition
      // is strict), never later than the renew interval.
      const next = () =>
        Math.min(
          RENEW_MS,
          Math.max(TAKEOVER_SLACK_MS, takeoverAt + TAKEOVER_SLACK_MS - clock.now().getTime()),
        );
      renewing = every(clock, next, renew, stopping.signal);
    },
    async stop() {
      stopping.abort(new Error('stopping'));
      await renewing;
      if (held) {
        await store.releaseLease(LEASE_NAME, holder, epoch).catch((err) => {
          logger.warn(
            { err: describeError(err) },
            'releasing the leader lease failed; it runs out by itself',
          );
        });
        held = false;
        record();
      }
    },
  };
}
