// Two replicas on DynamoDB (moto, single-threaded as DynamoDB serializes writes to one item), real time:
// - what a claim adds to the warning→detach path: the conditional write that claims an instance before
//   any effect (completing it happens after the detach, off the path), raw and as the fast path makes it
//   (claimWork, with its deadline and the renewal it starts); with a standby swap a second claim, on the
//   standby (tryClaim), comes before the standby is started: both together per interruption;
// - the leader's fencing check before each reconciler change (checkLease: one consistent GetItem);
// - how long a dead leader's lease takes to pass to the other replica (a crash: no release).
// moto is required (`npm run bench -- replicas` fails saying how to install it when it is missing).
// Figures only; the behaviour is asserted by test/app/replicas.moto.test.ts.

import { pathToFileURL } from 'node:url';
import { createLeadership, LEASE_MS, LEASE_NAME } from '../src/app/leadership.js';
import { createDynamoDbClient } from '../src/aws/clients.js';
import { createAwsCoordination } from '../src/aws/cloud.js';
import { type ClaimStore, claimWork, tryClaim } from '../src/controllers/interruption/claims.js';
import { standbyClaimKey } from '../src/controllers/reconcile/standby-hook.js';
import { systemClock } from '../src/ports/clock.js';
import type { CoordinationPort } from '../src/ports/coordination.js';
import { SKEW_MARGIN_MS } from '../src/ports/coordination.js';
import { silentLogger } from '../src/ports/logger.js';
import { noMetrics } from '../src/ports/metrics.js';
import { createCoordinationTable } from '../test/helpers/coordination-table.js';
import { startMoto, TEST_CREDENTIALS, TEST_REGION } from '../test/helpers/moto.js';

const TABLE = 'spotmax-coordination';
const CLAIMS = 300;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** A store whose calls never answer once `dead` is set: a replica killed mid-flight. */
function killable(store: CoordinationPort): { store: CoordinationPort; kill(): void } {
  let dead = false;
  const hang = () => new Promise<never>(() => {});
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead ? hang() : v.apply(target, args));
    },
  });
  return { store: wrapped, kill: () => (dead = true) };
}

export async function benchReplicas(): Promise<Record<string, number | string>> {
  const moto = await startMoto({ serial: true });
  try {
    const settings = { region: TEST_REGION, endpoint: moto.endpoint, credentials: TEST_CREDENTIALS };
    await createCoordinationTable(createDynamoDbClient({ ...settings, maxAttempts: 1 }), TABLE);
    const store = createAwsCoordination({ ...settings, table: TABLE });

    // The claim on the path: one conditional write per interrupted instance.
    for (let i = 0; i < 20; i++) await store.claim(`warmup-${i}`, 'task-a', 10_000);
    const took: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const started = performance.now();
      const claim = await store.claim(`i-${i.toString(16).padStart(17, '0')}`, 'task-a', 10_000);
      took.push(performance.now() - started);
      if (!claim.claimed) throw new Error(`claim ${i} was not granted`);
    }
    took.sort((a, b) => a - b);

    // As the fast path makes them: the instance's claim (claimWork), and on a standby swap the standby's
    // (tryClaim) after it. Finishing them (completeClaim) comes after the detach and is not timed.
    const claims: ClaimStore = { store, holder: 'task-a' };
    const deps = { clock: systemClock, logger: silentLogger, signal: new AbortController().signal };
    const instanceClaim: number[] = [];
    const swapClaims: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const id = `i-${(0x100000 + i).toString(16).padStart(17, '0')}`;
      const started = performance.now();
      const claim = await claimWork(claims, `${id}/release`, new Date(Date.now() + 120_000), deps);
      const claimed = performance.now();
      const standby = await tryClaim(
        claims,
        standbyClaimKey(`i-${(0x200000 + i).toString(16).padStart(17, '0')}`),
        deps,
      );
      swapClaims.push(performance.now() - started);
      instanceClaim.push(claimed - started);
      if (claim.kind !== 'mine' || standby.kind !== 'mine') throw new Error(`claim ${i} was not granted`);
      await claim.finish('detached');
      await standby.finish('attached');
    }
    instanceClaim.sort((a, b) => a - b);
    swapClaims.sort((a, b) => a - b);

    // Handover: A leads, then dies without releasing; B takes over when the lease and the skew margin run out.
    const a = killable(createAwsCoordination({ ...settings, table: TABLE }));
    const leaderDeps = { clock: systemClock, logger: silentLogger, metrics: noMetrics };
    const leaderA = createLeadership({ ...leaderDeps, coordination: a.store, holder: 'task-a' });
    const leaderB = createLeadership({
      ...leaderDeps,
      coordination: createAwsCoordination({ ...settings, table: TABLE }),
      holder: 'task-b',
    });
    await leaderA.start();
    await leaderB.start();
    if (!leaderA.isLeader() || leaderB.isLeader()) throw new Error('task-a should lead first');

    // The fencing check before every reconciler change (no reuse: app/leadership.ts).
    const epoch = leaderA.status().epoch!;
    const fence: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const started = performance.now();
      if (!(await store.checkLease(LEASE_NAME, 'task-a', epoch))) throw new Error('task-a lost the lease');
      fence.push(performance.now() - started);
    }
    fence.sort((x, y) => x - y);
    a.kill();
    const killedAt = performance.now();
    while (!leaderB.isLeader()) {
      if (performance.now() - killedAt > 60_000) throw new Error('no handover within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const handoverMs = performance.now() - killedAt;
    await leaderB.stop();
    void leaderA.stop();

    return {
      'claim (conditional write) p50 ms': took[Math.floor(took.length / 2)]!.toFixed(2),
      'claim p99 ms': pct(took, 0.99).toFixed(2),
      'claims measured': CLAIMS,
      'instance claim (claimWork) p50 ms': pct(instanceClaim, 0.5).toFixed(2),
      'instance claim (claimWork) p99 ms': pct(instanceClaim, 0.99).toFixed(2),
      'swap: instance + standby claims p50 ms': pct(swapClaims, 0.5).toFixed(2),
      'swap: instance + standby claims p99 ms': pct(swapClaims, 0.99).toFixed(2),
      'fencing check (checkLease) p50 ms': pct(fence, 0.5).toFixed(2),
      'fencing check (checkLease) p99 ms': pct(fence, 0.99).toFixed(2),
      'leader handover after a crash s': (handoverMs / 1000).toFixed(1),
      'handover bound s (lease + skew margin)': (LEASE_MS + SKEW_MARGIN_MS) / 1000,
    };
  } finally {
    await moto.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchReplicas();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(52)} ${v}`);
}
