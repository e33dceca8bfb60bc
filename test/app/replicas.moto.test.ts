import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import test, { type ExecutionContext } from 'ava';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { INTERRUPTED_AT_TAG, STANDBY_CLAIMED_TAG, STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import { addSpotMembers, createTestQueue, seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { createCoordinationTable } from '../helpers/coordination-table.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import { type ServiceProcess, startSpotmax, until } from '../helpers/service-process.js';

// Two `spotmax run` processes on one region, one queue and one coordination table, as an ECS service
// with two tasks runs them, against moto, killed with SIGKILL as a crashed task is. DynamoDB is a second,
// single-threaded moto (AWS_ENDPOINT_URL_DYNAMODB): moto's threaded server checks a condition and writes
// without a lock, which DynamoDB never does, so conditional writes racing on one item need it.

const TABLE = 'spotmax-coordination';
let moto: Moto;
let motoDb: Moto;
test.before(async () => {
  [moto, motoDb] = await Promise.all([startMoto(), startMoto({ serial: true })]);
});
test.after.always(async () => {
  await Promise.all([moto?.stop(), motoDb?.stop()]);
});

const env = () => ({
  ...process.env,
  AWS_REGION: TEST_REGION,
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ENDPOINT_URL_DYNAMODB: motoDb.endpoint,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
});

async function region(groupTags: Record<string, string>, members: number) {
  await Promise.all([moto.reset(), motoDb.reset()]);
  // The test's observers poll moto while both replicas write to it, and moto's threaded server now and
  // then answers 500 (a race inside moto, an HTML page); the SDK retries a 500 as it would against AWS.
  const clients = testClients(moto.endpoint, undefined, 4);
  const dynamodb = createDynamoDbClient({
    region: TEST_REGION,
    endpoint: motoDb.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
  await createCoordinationTable(dynamodb, TABLE);
  await seedGroup(clients, { name: 'web', desired: 0, max: 60, tags: groupTags });
  const victims = members > 0 ? await addSpotMembers(clients.ec2, clients.autoscaling, 'web', members) : [];
  // As the stack makes it: a message whose handler died is back 15 s later.
  const queueUrl = await createTestQueue(clients.sqs, 'spotmax-events', 15);
  const policies = await mkdtemp(join(tmpdir(), 'spotmax-replicas-'));
  await writeFile(join(policies, 'none.yaml'), '# no policies: the group tags say it all\n');
  return { clients, dynamodb, victims, queueUrl, policies };
}

type Region = Awaited<ReturnType<typeof region>>;

function replica(t: ExecutionContext, r: Region): ServiceProcess {
  return startSpotmax(
    [
      'run',
      '--cloud',
      'aws',
      '--queue-url',
      r.queueUrl,
      '--coordination-table',
      TABLE,
      '--port',
      '0',
      '--policies',
      r.policies,
      '--interval',
      '*/5 * * * * *',
      '--grace',
      '5',
    ],
    env(),
    t.teardown,
  );
}

async function running(...replicas: ServiceProcess[]): Promise<void> {
  // Generous: on a loaded 2-core machine a Node process with the SDK loaded takes seconds to start.
  await Promise.all(replicas.map((s) => s.logs.waitFor((l) => l.msg === 'spotmax running', 120_000)));
}

/**
 * The pool of `web` now (standbys not terminated and not claimed: a claimed one is on its way into the
 * group, and the pool is refilled for it at once), and every standby ever launched.
 */
async function standbys(r: Region): Promise<{ live: string[]; ever: string[] }> {
  const out = await r.clients.ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: `tag:${STANDBY_FOR_TAG}`, Values: ['web'] }] }),
  );
  const all = (out.Reservations ?? []).flatMap((res) => res.Instances ?? []);
  return {
    live: all
      .filter((i) => !['shutting-down', 'terminated'].includes(i.State?.Name ?? ''))
      .filter((i) => !i.Tags?.some((tag) => tag.Key === STANDBY_CLAIMED_TAG))
      .map((i) => i.InstanceId!),
    ever: all.map((i) => i.InstanceId!),
  };
}

/**
 * Samples the live standby count every 300 ms until stopped; returns the most seen. The ids of the
 * fullest sample are kept, so a failure can show what both replicas said about them.
 */
function watchPool(r: Region) {
  let most = 0;
  let fullest: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { live } = await standbys(r);
      if (live.length > most) [most, fullest] = [live.length, live];
      await new Promise((res) => setTimeout(res, 300));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return most;
    },
    fullest: () => fullest,
  };
}

const members = async (r: Region) =>
  (
    await r.clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] }))
  ).AutoScalingGroups?.[0]?.Instances?.map((i) => i.InstanceId!) ?? [];

async function queueEmpty(r: Region): Promise<boolean> {
  const a = await r.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: r.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages) +
      Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible) ===
    0
  );
}

async function send(r: Region, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10)
    await r.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: r.queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, n) => ({ Id: String(n), MessageBody: b })),
      }),
    );
}

const warning = (id: string, time: Date) =>
  JSON.stringify(buildSampleEvent({ type: 'spot-interruption', instanceId: id, region: TEST_REGION, time }));

/** `detached <id> from web` lines of both replicas: instance id → how many times. */
function detaches(...replicas: ServiceProcess[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const s of replicas)
    for (const l of s.logs.lines) {
      const m = /^detached (i-[0-9a-f]+) from web$/.exec(String(l.msg));
      if (m) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
    }
  return seen;
}

test.serial(
  'two processes, one queue: a standby pool of 2 never exceeds 2; 20 warnings with duplicates and state changes give 20 detaches, one standby at most each',
  async (t) => {
    t.timeout(300_000, 'processes start slowly on a loaded machine');
    const r = await region({ 'spotmax:standby_size': '2', 'spotmax:detaching_delay_seconds': '0' }, 22);
    const pool = watchPool(r);
    const a = replica(t, r);
    const b = replica(t, r);
    try {
      await running(a, b);
      await until(
        'two standbys launched',
        async () => ((await standbys(r)).live.length === 2 ? true : undefined),
        60_000,
      );

      const victims = r.victims.slice(0, 20);
      const now = new Date();
      const bodies = victims.flatMap((id) => [
        warning(id, now),
        warning(id, now),
        JSON.stringify(
          buildSampleEvent({
            type: 'state-change',
            instanceId: id,
            region: TEST_REGION,
            time: now,
            state: 'stopping',
          }),
        ),
      ]);
      await send(r, bodies);
      await until(
        'every victim detached and every message handled',
        async () => {
          const left = await members(r);
          return victims.every((v) => !left.includes(v)) && (await queueEmpty(r)) ? true : undefined;
        },
        90_000,
      );
      const most = await pool.stop();

      const seen = detaches(a, b);
      // What each replica said about an instance seen twice, for whoever reads a failure.
      const explain = (id: string | undefined) => {
        if (id)
          for (const [name, s] of [
            ['a', a],
            ['b', b],
          ] as const)
            for (const l of s.logs.lines.filter((l) => JSON.stringify(l).includes(id)))
              t.log(name, JSON.stringify(l).slice(0, 600));
      };
      explain([...seen].find(([, n]) => n > 1)?.[0]);
      t.deepEqual([...seen.keys()].sort(), [...victims].sort(), 'each victim detached');
      t.true(
        [...seen.values()].every((n) => n === 1),
        `detached once each: ${JSON.stringify([...seen])}`,
      );
      const used = [a, b]
        .flatMap((s) => s.logs.lines)
        .filter((l) => /^detached i-/.test(String(l.msg)) && typeof l.standby === 'string')
        .map((l) => l.standby as string);
      explain(used.find((u, i) => used.indexOf(u) !== i));
      t.is(new Set(used).size, used.length, `no standby taken twice: ${used.join(', ')}`);
      if (most > 2) for (const id of pool.fullest()) explain(id);
      t.true(most <= 2, `the standby pool reached ${most}: ${pool.fullest().join(', ')}`);
      t.true(
        a.logs.lines.some((l) => /^detached i-/.test(String(l.msg))) &&
          b.logs.lines.some((l) => /^detached i-/.test(String(l.msg))),
        'both replicas did work',
      );
    } catch (err) {
      t.log(a.stderr(), b.stderr());
      throw err;
    } finally {
      await pool.stop();
    }
  },
);

test.serial(
  'the leader SIGKILLed mid-pass: the other leads within a lease period and finishes the pass once',
  async (t) => {
    t.timeout(300_000, 'processes start slowly on a loaded machine');
    const r = await region({ 'spotmax:standby_size': '2' }, 0);
    const pool = watchPool(r);
    const a = replica(t, r);
    const b = replica(t, r);
    try {
      await running(a, b);
      const first = await Promise.race(
        [a, b].map((s) =>
          s.logs.waitFor((l) => /^leader of the reconciler/.test(String(l.msg))).then(() => s),
        ),
      );
      const other = first === a ? b : a;
      // Killed as soon as its pass has launched the first standby: the rest of the pass is left undone.
      await first.logs.waitFor((l) => l.action === 'launch-standby' && !l.dryRun && !l.err, 60_000);
      first.child.kill('SIGKILL');
      const killedAt = Date.now();
      await other.logs.waitFor((l) => /^leader of the reconciler/.test(String(l.msg)), 40_000);
      const handoverMs = Date.now() - killedAt;
      t.log(`handover ${handoverMs} ms after SIGKILL`);
      // The lease runs 12 s (LEASE_MS) from its last renewal, at most 4 s (RENEW_MS) before the kill, so it
      // ends within 12 s of the kill; the follower tries right when it ends plus the skew margin (2 s,
      // SKEW_MARGIN_MS), not on its next 4 s tick: 12 + 2 = 14 s. Plus 5 s for a loaded machine (scheduling,
      // moto answering late, the log line on its way): 19 s.
      t.true(handoverMs <= 19_000, `took over ${handoverMs} ms after the kill (bound 12 + 2 + 5 s)`);

      await until(
        'the pool back at 2',
        async () => ((await standbys(r)).live.length === 2 ? true : undefined),
        60_000,
      );
      // Let the new leader run a few more passes: it must not add to a full pool.
      await new Promise((res) => setTimeout(res, 12_000));
      const most = await pool.stop();
      const { live, ever } = await standbys(r);
      t.is(live.length, 2);
      t.true(most <= 2, `the pool reached ${most}`);
      t.is(
        ever.length,
        2,
        `standbys ever launched: ${ever.join(', ')} (the half-done pass was finished once)`,
      );
    } catch (err) {
      t.log(a.stderr(), b.stderr());
      throw err;
    } finally {
      await pool.stop();
    }
  },
);

test.serial('a process SIGKILLed after marking: the other detaches within the delay + 30 s', async (t) => {
  t.timeout(300_000, 'processes start slowly on a loaded machine');
  const delaySeconds = 10;
  const r = await region({ 'spotmax:detaching_delay_seconds': String(delaySeconds) }, 2);
  const a = replica(t, r);
  const b = replica(t, r);
  try {
    await running(a, b);
    // Wait until the directory knows the group (a first pass ran on some replica).
    await until('members tagged by a pass', async () => {
      const out = await r.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [r.victims[0]!] }));
      return out.Reservations?.[0]?.Instances?.[0]?.Tags?.some((tag) => tag.Key === 'spotmax:group')
        ? true
        : undefined;
    });
    const victim = r.victims[0]!;
    const sentAt = new Date();
    await send(r, [warning(victim, sentAt)]);
    await until(
      'the victim marked',
      async () => {
        const out = await r.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [victim] }));
        return out.Reservations?.[0]?.Instances?.[0]?.Tags?.some((tag) => tag.Key === INTERRUPTED_AT_TAG)
          ? true
          : undefined;
      },
      30_000,
      50,
    );
    // The replica holding the claim is the one working on it: kill it before its detach is due.
    const holder = await until('the claim', async () => {
      const items = (await r.dynamodb.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
      const claim = items.find((i) => i.pk?.S?.startsWith('claim#') && i.pk.S.includes(victim));
      return claim?.holder?.S;
    });
    const worker = [a, b].find((s) => holder.includes(`-${s.pid}-`));
    if (!worker) throw new Error(`no replica matches the claim holder ${holder}`);
    worker.child.kill('SIGKILL');
    t.false((await members(r)).includes(victim) === false, 'not detached before the kill');

    const survivor = worker === a ? b : a;
    await until(
      'the victim detached',
      async () => ((await members(r)).includes(victim) ? undefined : true),
      60_000,
    );
    const lagSeconds = (Date.now() - sentAt.getTime()) / 1000;
    t.log(`detached ${lagSeconds.toFixed(1)} s after the warning (delay ${delaySeconds} s)`);
    t.true(lagSeconds <= delaySeconds + 30, `detached ${lagSeconds} s after the warning`);
    t.true(
      survivor.logs.lines.some((l) => l.msg === `detached ${victim} from web`),
      'the surviving replica detached it',
    );
  } catch (err) {
    t.log(a.stderr(), b.stderr());
    throw err;
  }
});
