import test, { type ExecutionContext } from 'ava';
import type { Clock } from '../../src/ports/clock.js';
import { type CoordinationPort, SKEW_MARGIN_MS } from '../../src/ports/coordination.js';

// Coordination behaviours both the DynamoDB adapter (against moto) and the simulated region's store
// must show. Time is the backend's clock, moved by `advance`; each replica sees it through its own
// Clock (`replica`), possibly skewed, as two ECS tasks would. Tests run serially: one backend may be one
// shared emulator that `make` resets.

export interface CoordinationBackend {
  /** True time. */
  clock: Clock;
  advance(ms: number): Promise<void>;
  /** A replica's view of the one store, with its own clock (default: true time). */
  replica(clock?: Clock): CoordinationPort;
  teardown(): Promise<void>;
}

type Body = (t: ExecutionContext, b: CoordinationBackend) => Promise<void>;

const TTL = 15_000;

/** `clock` running `skewMs` ahead of it (behind when negative). */
export function skewed(clock: Clock, skewMs: number): Clock {
  return { now: () => new Date(clock.now().getTime() + skewMs), sleep: (ms, s) => clock.sleep(ms, s) };
}

export function coordinationSuite(name: string, make: () => Promise<CoordinationBackend>): void {
  const it = (title: string, body: Body) =>
    test.serial(`${name}: ${title}`, async (t) => {
      const backend = await make();
      try {
        await body(t, backend);
      } finally {
        await backend.teardown();
      }
    });

  it('a free lease is taken with epoch 1; its holder renews it at the same epoch; others see the holder', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    const first = await a.acquireLease('reconciler', 'a', TTL);
    t.like(first, { held: true, holder: 'a', epoch: 1 });
    t.is(first.expiresAt.getTime(), b.clock.now().getTime() + TTL);

    await b.advance(10_000);
    const renewed = await a.acquireLease('reconciler', 'a', TTL);
    t.like(renewed, { held: true, holder: 'a', epoch: 1 });
    t.is(renewed.expiresAt.getTime(), b.clock.now().getTime() + TTL, 'renewal moves the expiry');

    const seen = await other.acquireLease('reconciler', 'b', TTL);
    t.deepEqual(seen, { held: false, holder: 'a', epoch: 1, expiresAt: renewed.expiresAt });
    t.true(await a.checkLease('reconciler', 'a', 1));
    t.false(await other.checkLease('reconciler', 'b', 1));
    t.false(await a.checkLease('reconciler', 'a', 2), 'another epoch is not held');
  });

  it('an expired lease is taken over only past the skew margin, with a higher epoch; the old holder then sees the loss', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.acquireLease('reconciler', 'a', TTL);
    await b.advance(TTL + 1);
    t.false(await a.checkLease('reconciler', 'a', 1), 'the holder stops trusting its lease at its expiry');
    t.like(
      await other.acquireLease('reconciler', 'b', TTL),
      { held: false, holder: 'a' },
      'inside the margin',
    );

    await b.advance(SKEW_MARGIN_MS);
    const taken = await other.acquireLease('reconciler', 'b', TTL);
    t.like(taken, { held: true, holder: 'b', epoch: 2 });
    t.true(await other.checkLease('reconciler', 'b', 2));
    t.false(await a.checkLease('reconciler', 'a', 1));
    t.like(await a.acquireLease('reconciler', 'a', TTL), { held: false, holder: 'b', epoch: 2 });
    t.false(await a.releaseLease('reconciler', 'a', 1), 'a lost lease cannot be released');
    t.true(await other.checkLease('reconciler', 'b', 2));
  });

  it('a holder whose lease expired but was not taken renews it at the same epoch', async (t, b) => {
    const a = b.replica();
    await a.acquireLease('reconciler', 'a', TTL);
    await b.advance(TTL + SKEW_MARGIN_MS + 1_000);
    t.like(await a.acquireLease('reconciler', 'a', TTL), { held: true, epoch: 1 });
    t.true(await a.checkLease('reconciler', 'a', 1));
  });

  it('a released lease is free at once, and the next holder gets a higher epoch', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.acquireLease('reconciler', 'a', TTL);
    t.false(await a.releaseLease('reconciler', 'a', 2), 'the wrong epoch releases nothing');
    t.false(await other.releaseLease('reconciler', 'b', 1), 'nor does another holder');
    t.true(await a.checkLease('reconciler', 'a', 1));
    t.true(await a.releaseLease('reconciler', 'a', 1));
    t.false(await a.checkLease('reconciler', 'a', 1));
    t.false(await a.releaseLease('reconciler', 'a', 1), 'released once');
    t.like(await other.acquireLease('reconciler', 'b', TTL), { held: true, holder: 'b', epoch: 2 });
    // Back to the first replica later: a change of holder again, so the epoch moves on again.
    t.true(await other.releaseLease('reconciler', 'b', 2));
    t.like(await a.acquireLease('reconciler', 'a', TTL), { held: true, holder: 'a', epoch: 3 });
  });

  it('leases of different names are independent', async (t, b) => {
    const a = b.replica();
    t.like(await a.acquireLease('reconciler', 'a', TTL), { held: true, epoch: 1 });
    t.like(await b.replica().acquireLease('other', 'b', TTL), { held: true, holder: 'b', epoch: 1 });
    t.false(await a.checkLease('other', 'a', 1));
  });

  it('concurrent acquirers of a free lease, then of an expired one: exactly one wins each time', async (t, b) => {
    const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const replicas = names.map(() => b.replica());
    const race = () => Promise.all(replicas.map((r, i) => r.acquireLease('reconciler', names[i]!, TTL)));
    const first = await race();
    const winners = first.filter((l) => l.held);
    t.is(winners.length, 1);
    const leader = winners[0]!.holder;
    for (const l of first) t.like(l, { holder: leader, epoch: 1 });

    await b.advance(TTL + SKEW_MARGIN_MS + 1_000);
    // The old leader races too: it would renew at epoch 1, the others take over at epoch 2.
    const second = await race();
    const held = second.filter((l) => l.held);
    t.is(held.length, 1);
    for (const l of second) t.is(l.holder, held[0]!.holder);
    const winner = held[0]!;
    const idx = names.indexOf(winner.holder);
    t.true(await replicas[idx]!.checkLease('reconciler', winner.holder, winner.epoch));
    if (winner.holder === leader) t.is(winner.epoch, 1, 'the old leader renewed');
    else t.is(winner.epoch, 2, 'a new holder, a new epoch');
  });

  /** Steps true time through a lease's end: whether the other took it while the holder still trusted it. */
  async function overlapWithSkew(
    b: CoordinationBackend,
    skewMs: number,
  ): Promise<{ overlap: boolean; takenOver: boolean }> {
    const a = b.replica();
    const fast = b.replica(skewed(b.clock, skewMs));
    const { epoch } = await a.acquireLease('reconciler', 'a', TTL);
    let overlap = false;
    let takenOver = false;
    for (let step = 0; step < (TTL + SKEW_MARGIN_MS + 3_000) / 500; step++) {
      await b.advance(500);
      // The holder checks, and at the same instant the other tries: the holder would run its step
      // believing it holds the lease, so the other must not get it then.
      const trusts = await a.checkLease('reconciler', 'a', epoch);
      const other = await fast.acquireLease('reconciler', 'fast', TTL);
      if (other.held) takenOver = true;
      if (other.held && trusts) overlap = true;
    }
    return { overlap, takenOver };
  }

  it('a replica whose clock runs ahead by almost the margin never holds the lease while a silent holder still trusts it', async (t, b) => {
    t.deepEqual(await overlapWithSkew(b, SKEW_MARGIN_MS - 500), { overlap: false, takenOver: true });
  });

  it('the margin is what protects: a skew beyond it would let two holders coexist', async (t, b) => {
    // Not a behaviour to rely on: it shows the check above can fail, and where the guarantee ends.
    t.deepEqual(await overlapWithSkew(b, SKEW_MARGIN_MS + 2_000), { overlap: true, takenOver: true });
  });

  it('claims: the first claimer wins, even against itself; the others see who holds it until when', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    const first = await a.claim('i-0abc', 'a', 30_000);
    t.like(first, { claimed: true, holder: 'a' });
    t.true(first.expiresAt.getTime() >= b.clock.now().getTime() + 30_000);
    t.true(first.expiresAt.getTime() < b.clock.now().getTime() + 31_000, 'whole seconds, rounded up');
    t.deepEqual(await other.claim('i-0abc', 'b', 30_000), {
      claimed: false,
      holder: 'a',
      expiresAt: first.expiresAt,
    });
    // A second message about the same instance at the same replica must not start the work twice.
    t.like(await a.claim('i-0abc', 'a', 30_000), { claimed: false, holder: 'a' });
    t.like(await other.claim('i-0def', 'b', 30_000), { claimed: true, holder: 'b' }, 'per instance');
  });

  it('an expired claim is taken over past the skew margin; the old holder can then neither renew, complete nor release it', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.claim('i-0abc', 'a', 10_000);
    await b.advance(10_000 + 1_000);
    t.like(await other.claim('i-0abc', 'b', 10_000), { claimed: false, holder: 'a' }, 'inside the margin');
    await b.advance(SKEW_MARGIN_MS + 1_000);
    t.like(await other.claim('i-0abc', 'b', 10_000), { claimed: true, holder: 'b' });
    t.false(await a.renewClaim('i-0abc', 'a', 10_000));
    t.false(await a.completeClaim('i-0abc', 'a', 'detached'));
    t.false(await a.releaseClaim('i-0abc', 'a'));
    t.like(await a.claim('i-0abc', 'a', 10_000), { claimed: false, holder: 'b' });
  });

  it('only the holder renews its claim, and a renewed claim is not taken over at its first expiry', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.claim('i-0abc', 'a', 10_000);
    t.false(await other.renewClaim('i-0abc', 'b', 10_000));
    t.false(await other.renewClaim('i-0missing', 'b', 10_000), 'nothing to renew');
    await b.advance(8_000);
    t.true(await a.renewClaim('i-0abc', 'a', 10_000));
    await b.advance(2_000 + SKEW_MARGIN_MS + 1_000);
    t.like(await other.claim('i-0abc', 'b', 10_000), { claimed: false, holder: 'a' });
    // Expired and not taken over: its holder may still renew it (nobody else acted in between).
    await b.advance(10_000);
    t.true(await a.renewClaim('i-0abc', 'a', 10_000));
    t.like(await other.claim('i-0abc', 'b', 10_000), { claimed: false, holder: 'a' });
  });

  it('a completed claim shows its outcome to later claimers for the retention, then the key is free again', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.claim('i-0abc', 'a', 10_000);
    t.false(await other.completeClaim('i-0abc', 'b', 'detached'), 'only the holder completes');
    t.true(await a.completeClaim('i-0abc', 'a', 'detached', 60_000));
    t.false(await a.renewClaim('i-0abc', 'a', 10_000), 'done is done');
    t.false(await a.releaseClaim('i-0abc', 'a'), 'a done claim is not released');
    // Well past the claim's own TTL, inside the retention.
    await b.advance(30_000);
    t.like(await other.claim('i-0abc', 'b', 10_000), { claimed: false, holder: 'a', outcome: 'detached' });
    // Claim expiries are whole seconds (rounded up when written, the cutoff rounded down): up to 2 s more.
    await b.advance(30_000 + SKEW_MARGIN_MS + 2_000);
    const again = await other.claim('i-0abc', 'b', 10_000);
    t.like(again, { claimed: true, holder: 'b' });
    t.is(again.outcome, undefined, 'a new claim starts without the old outcome');
  });

  it('a released claim can be claimed by another replica at once', async (t, b) => {
    const [a, other] = [b.replica(), b.replica()];
    await a.claim('i-0abc', 'a', 30_000);
    t.false(await other.releaseClaim('i-0abc', 'b'), 'not the holder');
    t.true(await a.releaseClaim('i-0abc', 'a'));
    t.false(await a.releaseClaim('i-0abc', 'a'), 'nothing left to release');
    t.like(await other.claim('i-0abc', 'b', 30_000), { claimed: true, holder: 'b' });
  });

  it('concurrent claims of one instance (warning, state-change and lifecycle at once on several replicas): exactly one wins', async (t, b) => {
    const holders = Array.from({ length: 8 }, (_, i) => `r${i}`);
    const results = await Promise.all(holders.map((h) => b.replica().claim('i-0abc', h, 30_000)));
    const winners = results.filter((c) => c.claimed);
    t.is(winners.length, 1);
    for (const c of results) t.is(c.holder, winners[0]!.holder);
  });

  it('a TTL that is not positive is refused before anything is written', async (t, b) => {
    const a = b.replica();
    await t.throwsAsync(a.acquireLease('reconciler', 'a', 0), { instanceOf: RangeError });
    await t.throwsAsync(a.claim('i-0abc', 'a', -1), { instanceOf: RangeError });
    t.like(await b.replica().claim('i-0abc', 'b', 1_000), { claimed: true });
  });
}
