// Coordination between replicas of spotmax on one region: a leader lease for the reconciler and a claim
// per instance for the fast path. Implemented on DynamoDB (aws/coordination.ts) and in the simulated
// region (sim/coordination.ts); test/contract/coordination.contract.ts holds both to one behaviour.
//
// Clock skew. Each replica compares expiries against its own injected Clock, and a conditional write
// in the store makes the decision atomic (two writers never both succeed). What the condition cannot
// see is that the writer's clock may run ahead of the holder's: a taker whose clock is 3 s fast would
// think a lease expired 3 s before its holder stops acting on it. So a taker only treats a record as
// expired once its expiry lies SKEW_MARGIN_MS in the past by the taker's clock, while a holder trusts
// its record only until the expiry by its own clock. Two holders then never coexist as long as two
// replicas' clocks differ by less than the margin (ECS tasks sync to the Amazon Time Sync Service and
// differ by milliseconds; the margin covers a badly drifting host). The cost is that a dead holder's
// lease or claim is taken over SKEW_MARGIN_MS after its expiry rather than at it. A live holder renews
// long before its expiry (the lease 8 s before, a claim 7 s before), so skew matters only for a holder
// that stopped renewing (paused, dying): for the lease, fencing (checkLease before every change) then
// stops it; a claim's holder acts within its claim's lifetime. Skew of a few seconds changes nothing.
//
// Renewing by the holder is allowed even after its record expired, as long as nobody took it over:
// nobody else can have acted in between (taking over is the only way to act), so no fencing is lost.

/** Largest clock difference between two replicas that cannot make two holders coexist. */
export const SKEW_MARGIN_MS = 2_000;

/** How long a completed claim stays visible (outlives any redelivery of the instance's messages). */
export const CLAIM_DONE_RETENTION_MS = 60 * 60_000;

export interface Lease {
  /** Whether the caller holds the lease now. */
  held: boolean;
  /**
   * The fencing token: increases every time the lease changes holder and stays the same while one holder
   * renews. A mutating step checks (holder, epoch) with checkLease before it runs.
   */
  epoch: number;
  /** Who holds it: the caller when `held`, otherwise the current holder. */
  holder: string;
  /** When the holder's hold ends unless renewed (by the clock of the replica that wrote it). */
  expiresAt: Date;
}

export interface Claim {
  /** Whether this call claimed the key: only the first claimer of a free or expired key does. */
  claimed: boolean;
  /** The holder of the claim: the caller when `claimed`, otherwise the replica that has it. */
  holder: string;
  expiresAt: Date;
  /** Set once the holder completed the work: the outcome it recorded. */
  outcome?: string;
}

/** The calls spotmax makes on the coordination store. Times come from the implementation's Clock. */
export interface CoordinationPort {
  /** Takes the lease when it is free or expired, renews it when `holder` holds it, else reports who does. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease>;
  /** Gives the lease up at once so another replica can take it; false when (holder, epoch) no longer holds it. */
  releaseLease(name: string, holder: string, epoch: number): Promise<boolean>;
  /** Whether `holder` still holds the lease at `epoch` and it has not expired: one consistent read. */
  checkLease(name: string, holder: string, epoch: number): Promise<boolean>;
  /** Claims `key` (an instance id) for `ttlMs` when nobody holds an unexpired claim on it: first wins. */
  claim(key: string, holder: string, ttlMs: number): Promise<Claim>;
  /** Extends the holder's claim; false when it is no longer the holder's (taken over, released, completed). */
  renewClaim(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Drops the holder's unfinished claim so another replica may claim at once; false when not the holder's. */
  releaseClaim(key: string, holder: string): Promise<boolean>;
  /**
   * Marks the holder's claim done with `outcome`, kept for `retainMs` (default CLAIM_DONE_RETENTION_MS):
   * later claims of the key fail and report the outcome. False when the claim is not the holder's.
   */
  completeClaim(key: string, holder: string, outcome: string, retainMs?: number): Promise<boolean>;
}

/**
 * Claim expiries are stored as whole epoch seconds (DynamoDB's TTL attribute is in seconds). Rounding up
 * keeps the stored expiry at or after the one asked for, so a holder never loses time to rounding.
 */
export function expirySeconds(nowMs: number, ttlMs: number): number {
  return Math.ceil((nowMs + ttlMs) / 1000);
}

/** A claim whose stored expiry (seconds) is below this is free to take, by the taker's clock. */
export function takeoverCutoffSeconds(nowMs: number, marginMs = SKEW_MARGIN_MS): number {
  return Math.floor((nowMs - marginMs) / 1000);
}

/** Refuses a TTL that would make a lease or claim meaningless (a programming error, not a user's). */
export function assertTtl(ttlMs: number, what: string): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`${what}: the TTL must be a positive number of ms, got ${ttlMs}`);
}
