import type { Clock } from '../ports/clock.js';
import {
  assertTtl,
  CLAIM_DONE_RETENTION_MS,
  type Claim,
  type CoordinationPort,
  expirySeconds,
  type Lease,
  SKEW_MARGIN_MS,
  takeoverCutoffSeconds,
} from '../ports/coordination.js';
import type { SimApi } from './api.js';

// The coordination store of the simulated region: the DynamoDB table of aws/coordination.ts in memory.
// Each operation is the same conditional write (or read) as there, made through SimApi under the same
// action name (UpdateItem, PutItem, DeleteItem, GetItem), so it is counted, waits its latency, and can
// be made throttled or unavailable (`api.setFault('dynamodb', …)`); the condition is checked and the
// row written in one synchronous step, which is what DynamoDB's conditional writes guarantee.
// Rows are shared by every replica (SimCoordinationTable); each replica sees them through its own Clock
// (`replica(clock)`), so tests can give two replicas skewed clocks.

interface LeaseRow {
  /** Absent once released. */
  holder?: string;
  epoch: number;
  /** Epoch ms. */
  until: number;
}

interface ClaimRow {
  holder: string;
  /** Epoch seconds, as the TTL attribute stores it. */
  expiresAt: number;
  outcome?: string;
}

/** How long after its expiry a claim row is dropped (DynamoDB's TTL deletes within days; memory needs sooner). */
const CLAIM_SWEEP_AFTER_MS = 10 * 60_000;
const SWEEP_EVERY_WRITES = 1024;

/** The table's rows, shared by the replicas of one region. */
export class SimCoordinationTable {
  readonly leases = new Map<string, LeaseRow>();
  readonly claims = new Map<string, ClaimRow>();
  private writes = 0;

  /** Drops long-expired claims now and then, as TTL deletion does, so a long run does not grow forever. */
  noteClaimWrite(nowMs: number): void {
    if (++this.writes % SWEEP_EVERY_WRITES !== 0) return;
    for (const [key, row] of this.claims)
      if (row.expiresAt * 1000 < nowMs - CLAIM_SWEEP_AFTER_MS) this.claims.delete(key);
  }
}

function claimOf(row: ClaimRow | undefined, claimed: boolean): Claim {
  return {
    claimed,
    holder: row?.holder ?? '',
    expiresAt: new Date((row?.expiresAt ?? 0) * 1000),
    ...(row?.outcome !== undefined ? { outcome: row.outcome } : {}),
  };
}

const leaseOf = (row: LeaseRow | undefined, held: boolean): Lease => ({
  held,
  holder: row?.holder ?? '',
  epoch: row?.epoch ?? 0,
  expiresAt: new Date(row?.until ?? 0),
});

export class SimCoordination implements CoordinationPort {
  constructor(
    private readonly api: SimApi,
    private readonly clock: Clock,
    readonly table = new SimCoordinationTable(),
    private readonly margin = SKEW_MARGIN_MS,
  ) {}

  /** The same rows seen by another replica, whose expiries are written and compared by `clock`. */
  replica(clock: Clock): SimCoordination {
    return new SimCoordination(this.api, clock, this.table, this.margin);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease> {
    assertTtl(ttlMs, `acquiring the lease ${name}`);
    const now = this.clock.now().getTime();
    const until = now + ttlMs;
    const context = `acquiring the lease ${name} for ${holder}`;
    const renewed = await this.api.call('dynamodb', 'UpdateItem', context, () => {
      const row = this.table.leases.get(name);
      if (!row || row.holder !== holder) return { ok: false, row: row && { ...row } };
      row.until = until;
      return { ok: true, row: { ...row } };
    });
    if (renewed.ok) return leaseOf(renewed.row, true);
    const stored = renewed.row;
    if (stored?.holder && stored.until >= now - this.margin) return leaseOf(stored, false);
    const taken = await this.api.call('dynamodb', 'UpdateItem', context, () => {
      const row = this.table.leases.get(name);
      if (row?.holder && row.until >= now - this.margin) return { ok: false, row: { ...row } };
      const next = { holder, until, epoch: (row?.epoch ?? 0) + 1 };
      this.table.leases.set(name, next);
      return { ok: true, row: { ...next } };
    });
    return leaseOf(taken.row, taken.ok);
  }

  async releaseLease(name: string, holder: string, epoch: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    return this.api.call(
      'dynamodb',
      'UpdateItem',
      `releasing the lease ${name} held by ${holder} (epoch ${epoch})`,
      () => {
        const row = this.table.leases.get(name);
        if (!row || row.holder !== holder || row.epoch !== epoch) return false;
        // The row stays with its epoch, so the next holder's epoch is higher still.
        this.table.leases.set(name, { epoch: row.epoch, until: now });
        return true;
      },
    );
  }

  async checkLease(name: string, holder: string, epoch: number): Promise<boolean> {
    const row = await this.api.call(
      'dynamodb',
      'GetItem',
      `checking that ${holder} still holds the lease ${name} (epoch ${epoch})`,
      () => {
        const r = this.table.leases.get(name);
        return r && { ...r };
      },
    );
    return row?.holder === holder && row.epoch === epoch && this.clock.now().getTime() < row.until;
  }

  async claim(key: string, holder: string, ttlMs: number): Promise<Claim> {
    assertTtl(ttlMs, `claiming ${key}`);
    const now = this.clock.now().getTime();
    const expiresAt = expirySeconds(now, ttlMs);
    return this.api.call('dynamodb', 'PutItem', `claiming ${key} for ${holder}`, () => {
      const row = this.table.claims.get(key);
      if (row && row.expiresAt >= takeoverCutoffSeconds(now, this.margin)) return claimOf(row, false);
      const next = { holder, expiresAt };
      this.table.claims.set(key, next);
      this.table.noteClaimWrite(now);
      return claimOf(next, true);
    });
  }

  async renewClaim(key: string, holder: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs, `renewing the claim on ${key}`);
    const expiresAt = expirySeconds(this.clock.now().getTime(), ttlMs);
    return this.api.call('dynamodb', 'UpdateItem', `renewing ${holder}'s claim on ${key}`, () => {
      const row = this.table.claims.get(key);
      if (!row || row.holder !== holder || row.outcome !== undefined) return false;
      row.expiresAt = expiresAt;
      return true;
    });
  }

  async releaseClaim(key: string, holder: string): Promise<boolean> {
    return this.api.call('dynamodb', 'DeleteItem', `releasing ${holder}'s claim on ${key}`, () => {
      const row = this.table.claims.get(key);
      if (!row || row.holder !== holder || row.outcome !== undefined) return false;
      this.table.claims.delete(key);
      return true;
    });
  }

  async completeClaim(
    key: string,
    holder: string,
    outcome: string,
    retainMs = CLAIM_DONE_RETENTION_MS,
  ): Promise<boolean> {
    assertTtl(retainMs, `completing the claim on ${key}`);
    const expiresAt = expirySeconds(this.clock.now().getTime(), retainMs);
    return this.api.call(
      'dynamodb',
      'UpdateItem',
      `recording ${holder}'s outcome "${outcome}" for ${key}`,
      () => {
        const row = this.table.claims.get(key);
        if (!row || row.holder !== holder) return false;
        row.outcome = outcome;
        row.expiresAt = expiresAt;
        return true;
      },
    );
  }
}
