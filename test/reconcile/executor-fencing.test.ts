import test from 'ava';
import { fencedCloud } from '../../src/app/guarded-cloud.js';
import { createLeadership } from '../../src/app/leadership.js';
import { ActionExecutor } from '../../src/controllers/reconcile/executor.js';
import { tagHandlers } from '../../src/controllers/reconcile/handlers/tags.js';
import type { Action } from '../../src/domain/actions.js';
import { silentLogger } from '../../src/ports/logger.js';
import { noMetrics } from '../../src/ports/metrics.js';
import { captureLogger } from '../interruption/helpers/setup.js';
import { warmRegion } from '../sim/helpers.js';

// The reconciler's changes under leader fencing (app/guarded-cloud.ts fencedCloud, as the service wires
// it). While the lease still runs by this replica's clock but the store cannot confirm it (DynamoDB
// throttled, or the lease taken over), every change is refused with NotLeader: that is a decision not to
// act, said at warn with what and why, never an error line (the Errors alarm) nor a failed action. Every
// change reads the lease itself, and its log line names the epoch.

const tagAction = (id: string, value: string): Action => ({
  kind: 'tag-instance',
  group: 'web',
  target: id,
  tags: { 'spotmax:group': value },
  reason: `missing spotmax:group=${value}`,
});

test('changes refused by the fencing check are logged at warn as refused, not as failed actions; each change is checked and logged with its epoch', async (t) => {
  const region = await warmRegion();
  const { template, version } = region.ec2.resolveTemplate({ name: 'web-lt' });
  const ids = Array.from(
    { length: 3 },
    () =>
      region.ec2.launch({ template, version, az: 'us-east-1a', market: 'on-demand', tags: {} }).instanceId,
  );
  await region.clock.advanceBy(6_000);
  let checks = 0;
  const coordination = new Proxy(region.coordination, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver);
      if (prop === 'checkLease') checks++;
      return typeof v === 'function' ? v.bind(obj) : v;
    },
  });
  const leadership = createLeadership({
    coordination,
    holder: 'task-a',
    clock: region.clock,
    logger: silentLogger,
    metrics: noMetrics,
  });
  await region.clock.drive(leadership.start());
  const logger = captureLogger();
  const executor = new ActionExecutor(tagHandlers, {
    cloud: fencedCloud(region.cloud, leadership),
    clock: region.clock,
    logger,
    leaseEpoch: () => leadership.status().epoch,
  });
  // Two share a CreateTags (the batched path), one goes alone (one action, one call).
  const actions = [tagAction(ids[0]!, 'web'), tagAction(ids[1]!, 'web'), tagAction(ids[2]!, 'api')];

  region.api.setFault('dynamodb', { throttleRate: 1 });
  const refused = await region.clock.drive(executor.execute(actions, { dryRun: false }));
  t.true(leadership.isLeader(), 'the lease still runs by its own clock: only the fencing check says no');
  t.deepEqual(
    refused.map((r) => r.status),
    ['refused', 'refused', 'refused'],
  );
  t.true(
    ids.every((id) => region.ec2.get(id)!.tags['spotmax:group'] === undefined),
    'nothing changed',
  );
  t.deepEqual(
    logger.lines.filter((l) => l.level === 'error'),
    [],
    'no error line',
  );
  const warns = logger.lines.filter(
    (l) => l.level === 'warn' && /refused: this replica is not the leader/.test(l.msg ?? ''),
  );
  t.deepEqual(warns.map((l) => (l.obj as { target?: string }).target).sort(), [...ids].sort());
  for (const w of warns) t.regex((w.obj as { why?: string }).why ?? '', /coordination store does not answer/);

  // The store answers again: the same actions go through, each change checked on its own (two calls, two
  // consistent reads, no reused answer), and each line names the epoch the change was fenced at.
  region.api.setFault('dynamodb', undefined);
  checks = 0;
  const done = await region.clock.drive(executor.execute(actions, { dryRun: false }));
  t.deepEqual(
    done.map((r) => r.status),
    ['done', 'done', 'done'],
  );
  t.is(checks, 2);
  const epoch = leadership.status().epoch;
  t.true(epoch !== undefined && epoch > 0);
  const acted = logger.lines.filter((l) => l.level === 'info' && /^tag/.test(l.msg ?? ''));
  t.is(acted.length, 2);
  for (const l of acted) t.is((l.obj as { epoch?: number }).epoch, epoch);
  await region.clock.drive(leadership.stop());
});
