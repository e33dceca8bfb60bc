// Two replicas on DynamoDB (moto, single-threaded as DynamoDB serializes writes to one item), real time:
// - what a claim adds to the warning→detach path: the conditional write that claims an instance before
//   any effect (completing it happens after the detach, off the path);
// - how long a dead leader's lease takes to pass to the other replica (a crash: no release).
// Figures only; the behaviour is asserted by test/app/replicas.moto.test.ts.

import { pathToFileURL } from 'node:url';
import { createLeadership, LEASE_MS } from '../src/app/leadership.js';
import { createDynamoDbClient } from '../src/aws/clients.js';
import { createAwsCoordination } from '../src/aws/cloud.js';
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

    // Handover: A leads, then dies without releasing; B takes over when the lease and the skew margin run out.
    const a = killable(createAwsCoordination({ ...settings, table: TABLE }));
    const deps = { clock: systemClock, logger: silentLogger, metrics: noMetrics };
    const leaderA = createLeadership({ ...deps, coordination: a.store, holder: 'task-a' });
    const leaderB = createLeadership({
      ...deps,
      coordination: createAwsCoordination({ ...settings, table: TABLE }),
      holder: 'task-b',
    });
    await leaderA.start();
    await leaderB.start();
    if (!leaderA.isLeader() || leaderB.isLeader()) throw new Error('task-a should lead first');
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
