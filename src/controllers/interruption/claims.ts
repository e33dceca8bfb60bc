import { describeError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { CoordinationPort } from '../../ports/coordination.js';
import type { Logger } from '../../ports/logger.js';
import { withDeadline } from '../../timing/deadline.js';
import { every } from '../../timing/every.js';

// Exactly one replica acts on an instance: every replica consumes the queue, and the first to claim the
// instance's work key (a conditional write in the coordination store, expiring, renewed while it works)
// releases, takes a standby and detaches. A replica that finds the claim held waits for its outcome
// (polling the claim) and only takes over when the claim expires: its holder died mid-work. A store that
// does not answer does not stop the fast path: after a bounded wait the replica proceeds, and the
// marker tag on the instance (spotmax:interrupted-at) still keeps a second release and detach away.

/** A claim lives this long unless renewed: a dead holder's work is taken over soon after. */
export const CLAIM_TTL_MS = 10_000;
const RENEW_MS = 3_000;
/** How often a waiting replica looks at another's claim. */
const POLL_MS = 2_000;
/** A store call that takes longer than this is given up: the fast path does not wait on the store. */
const STORE_CALL_MS = 1_000;

export interface ClaimStore {
  store: CoordinationPort;
  /** This replica's name in the store. */
  holder: string;
}

export type ClaimResult =
  | {
      kind: 'mine' /** Renews the claim until the work ends; then complete or release it. */;
      finish(outcome?: string): Promise<void>;
    }
  | { kind: 'done'; holder: string; outcome: string }
  | { kind: 'unclaimed'; reason: string };

/**
 * Claims `key` for this replica, waiting (until `until`) while another live replica holds it. Never throws:
 * a store that fails or does not answer gives `unclaimed` (the caller proceeds on the instance markers).
 */
export async function claimWork(
  claims: ClaimStore | undefined,
  key: string,
  until: Date,
  deps: { clock: Clock; logger: Logger; signal: AbortSignal },
): Promise<ClaimResult> {
  for (;;) {
    const claim = await tryClaim(claims, key, deps);
    if (claim.kind !== 'held') return claim;
    if (claim.outcome !== undefined) return { kind: 'done', holder: claim.holder, outcome: claim.outcome };
    // Held by a live replica: wait for its outcome, or for its claim to run out (it died), within `until`.
    const left = until.getTime() - deps.clock.now().getTime();
    if (left <= 0)
      return { kind: 'done', holder: claim.holder, outcome: 'still in progress at the deadline' };
    await deps.clock.sleep(Math.min(POLL_MS, left), deps.signal);
  }
}

export type TryClaimResult =
  | { kind: 'mine'; finish(outcome?: string): Promise<void> }
  | { kind: 'held'; holder: string; outcome?: string }
  | { kind: 'unclaimed'; reason: string };

/**
 * One attempt at `key`, no waiting: for a resource any of several would do (a standby), a replica that
 * finds it held moves on to the next. Never throws; a store that fails gives `unclaimed` (logged).
 */
export async function tryClaim(
  claims: ClaimStore | undefined,
  key: string,
  deps: { clock: Clock; logger: Logger; signal: AbortSignal },
): Promise<TryClaimResult> {
  if (!claims) return { kind: 'unclaimed', reason: 'no coordination store (a single replica)' };
  const { store, holder } = claims;
  try {
    const claim = await withDeadline(() => store.claim(key, holder, CLAIM_TTL_MS), {
      clock: deps.clock,
      ms: STORE_CALL_MS,
      what: `claiming ${key}`,
      signal: deps.signal,
    });
    if (claim.claimed) return { kind: 'mine', finish: renewUntilFinished(store, holder, key, deps) };
    return {
      kind: 'held',
      holder: claim.holder,
      ...(claim.outcome !== undefined ? { outcome: claim.outcome } : {}),
    };
  } catch (err) {
    if (deps.signal.aborted) throw err;
    deps.logger.warn(
      { key, err: describeError(err) },
      `claiming ${key} failed; proceeding on the tags (markers and claims) alone`,
    );
    return { kind: 'unclaimed', reason: describeError(err) };
  }
}

function renewUntilFinished(
  store: CoordinationPort,
  holder: string,
  key: string,
  deps: { clock: Clock; logger: Logger; signal: AbortSignal },
): (outcome?: string) => Promise<void> {
  const working = new AbortController();
  const renewing = every(
    deps.clock,
    RENEW_MS,
    async () => {
      const kept = await store.renewClaim(key, holder, CLAIM_TTL_MS).catch(() => undefined);
      if (kept === false) deps.logger.warn({ key }, `the claim on ${key} was lost while working`);
    },
    working.signal,
  );
  return async (outcome) => {
    working.abort();
    await renewing;
    // Done: later claims see the outcome. Not done (failed, to be retried): free it for whoever comes next.
    const finished =
      outcome === undefined ? store.releaseClaim(key, holder) : store.completeClaim(key, holder, outcome);
    await withDeadline(() => finished, {
      clock: deps.clock,
      ms: STORE_CALL_MS,
      what: `finishing the claim ${key}`,
    }).catch((err) =>
      deps.logger.warn(
        { key, err: describeError(err) },
        `finishing the claim on ${key} failed; it expires by itself`,
      ),
    );
  };
}
