import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createService, type ServiceOptions } from '../../src/app/service.js';
import { silentLogger } from '../../src/ports/logger.js';
import { NoopReleaser } from '../../src/release/noop.js';
import { recordCalls } from '../../src/sim/recording.js';
import { warmRegion } from '../sim/helpers.js';

// The one composition root on the simulated region: the same service `run --cloud aws` builds, here on
// the sim's cloud and virtual clock. Its cron schedule is waited for on that clock, and its policy
// folder is watched and reloaded, with /readyz following.

const POLICY = (size: number) => `apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: web }
spec:
  match: { names: ["web"] }
  standby: { size: ${size} }
`;

function options(extra: Partial<ServiceOptions> = {}): ServiceOptions {
  return {
    queueUrls: [],
    pollers: 1,
    concurrency: 8,
    interval: '* * * * *',
    graceMs: 1_000,
    dryRun: false,
    watchPolicies: true,
    ...extra,
  };
}

const TAGS = { 'spotmax:enabled': 'true' };

test('the cron interval is waited for on the virtual clock: */20 s gives three full passes a minute', async (t) => {
  const region = await warmRegion({ groups: [webGroup()] });
  const rec = recordCalls(region.cloud, region.clock);
  const service = createService({
    cloud: rec.cloud,
    clock: region.clock,
    logger: silentLogger,
    releasersFor: () => [new NoopReleaser()],
    options: options({ interval: '*/20 * * * * *' }),
  });
  // The scenario starts at a whole minute: runs fall at :20, :40, :00 of each minute after it.
  await service.start();
  const start = region.clock.nowMs();
  const fullPasses = () => rec.callsOf('describeGroups').filter((c) => c.args[0] === undefined);
  await region.clock.advanceBy(120_000);
  const at = fullPasses().map((c) => (c.at - start) / 1000);
  await region.clock.drive(service.stop());
  // One pass at start, then one at every run time of the schedule.
  t.deepEqual(at, [0, 20, 40, 60, 80, 100, 120]);
});

test('a policy change is picked up without a restart; a broken file turns /readyz red and keeps the last good policies', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-service-'));
  await writeFile(join(dir, 'web.yaml'), POLICY(1));
  const region = await warmRegion({ groups: [webGroup()] });
  const service = createService({
    cloud: region.cloud,
    clock: region.clock,
    logger: silentLogger,
    releasersFor: () => [new NoopReleaser()],
    options: options({ policyDir: dir, port: 0, host: '127.0.0.1' }),
  });
  const running = new AbortController();
  await service.start();
  const clock = region.clock.runPaced({ speed: 20, signal: running.signal, sliceMs: 10 });
  try {
    const base = `http://127.0.0.1:${service.port}`;
    const readyz = async () => {
      const r = await fetch(`${base}/readyz`);
      return { status: r.status, body: (await r.json()) as { checks: Record<string, { message?: string }> } };
    };
    await until('ready with the first policies', async () => (await readyz()).status === 200);
    t.is(service.policies().policies.length, 1);
    await until('one standby, as the first policy asks', async () => standbys(region) === 1);

    await writeFile(join(dir, 'web.yaml'), POLICY(3));
    await until('three standbys after the change, without a restart', async () => standbys(region) === 3);

    await writeFile(
      join(dir, 'broken.yaml'),
      'apiVersion: spotmax/v1\nkind: GroupPolicy\nspec: { standbye: 1 }\n',
    );
    await until('readyz red', async () => (await readyz()).status === 503);
    const red = await readyz();
    t.regex(red.body.checks.policies?.message ?? '', /broken\.yaml:\d+:\d+/);
    t.is(service.policies().policies.length, 1, 'the last good policies stay in force');
    t.is(standbys(region), 3);
  } finally {
    running.abort();
    await clock;
    await region.clock.drive(service.stop());
  }
});

test('with watchPolicies off (simulate), a policy folder that does not load fails start with file:line:col', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-service-'));
  await writeFile(join(dir, 'web.yaml'), `${POLICY(1)}  lifetime: { durationHours: -1 }\n`);
  const region = await warmRegion({ groups: [webGroup()] });
  const service = createService({
    cloud: region.cloud,
    clock: region.clock,
    logger: silentLogger,
    releasersFor: () => [new NoopReleaser()],
    options: options({ policyDir: dir, watchPolicies: false }),
  });
  const err = await t.throwsAsync(service.start());
  t.regex(err?.message ?? '', /web\.yaml:7:\d+: .*durationHours/);
});

function webGroup() {
  return {
    name: 'web',
    instanceTypes: ['m5.large'],
    azs: ['us-east-1a', 'us-east-1b'],
    desired: 2,
    boot: { median: 60, p99: 90 },
    tags: TAGS,
  };
}

function standbys(region: Awaited<ReturnType<typeof warmRegion>>): number {
  return [...region.ec2.instances.values()].filter(
    (i) => i.tags['spotmax:standby-for'] === 'web' && i.state !== 'terminated' && i.state !== 'shutting-down',
  ).length;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('--dry-run through a storm: the service resolves and logs, and not one changing call reaches the region', async (t) => {
  const region = await warmRegion({
    groups: [{ ...webGroup(), desired: 6 }],
    market: { storms: [{ at: 60, instanceType: 'm5.large', share: 0.5, within: 30 }] },
  });
  const rec = recordCalls(region.cloud, region.clock);
  const lines: string[] = [];
  const logger = {
    info: (_o: object, msg?: string) => void lines.push(msg ?? ''),
    warn: (_o: object, msg?: string) => void lines.push(msg ?? ''),
    error: (_o: object, msg?: string) => void lines.push(msg ?? ''),
    debug: () => {},
    child: () => logger,
  };
  const service = createService({
    cloud: rec.cloud,
    clock: region.clock,
    logger,
    releasersFor: () => [new NoopReleaser()],
    options: options({ dryRun: true, queueUrls: [region.queueUrl] }),
  });
  await service.start();
  await region.clock.advanceBy(10 * 60_000);
  await region.clock.drive(service.stop());
  const reads = new Set([
    'describeGroups',
    'describeInstances',
    'describeScalingActivities',
    'describeVolumes',
    'describeSnapshots',
    'describeLaunchTemplateVersion',
    'findInstanceIdsByTag',
    'findVolumeIdsByTag',
    'describeImages',
    'describeInstanceTypes',
    'getInstanceTypesFromInstanceRequirements',
    'describeInstanceStatus',
    'receive',
    'changeVisibility',
    'check',
    'record',
    'flush',
  ]);
  t.deepEqual(
    rec.calls.filter((c) => !reads.has(c.method)).map((c) => c.method),
    [],
  );
  t.true(service.controller!.stats().warnings > 0, 'the storm warned');
  t.true(
    lines.some((l) => l.startsWith('would ')),
    'actions logged as "would …"',
  );
});
