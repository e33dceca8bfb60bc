import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createService, type ServiceOptions } from '../../src/app/service.js';
import { silentLogger } from '../../src/ports/logger.js';
import { NoopReleaser } from '../../src/release/noop.js';
import { histogram, scrape, value } from '../helpers/prom-scrape.js';
import { warmRegion, webGroup } from '../sim/helpers.js';

// The service on the simulated region, scraped over HTTP the way Prometheus does, and its bus read back:
// what it did (standbys launched) and what it found (a group with a bad tag) show in both.

const POLICY = `apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: web }
spec:
  match: { names: ["web", "bad"] }
  standby: { size: 2 }
`;

function options(extra: Partial<ServiceOptions>): ServiceOptions {
  return {
    queueUrls: [],
    pollers: 1,
    concurrency: 8,
    interval: '* * * * *',
    graceMs: 1_000,
    dryRun: false,
    watchPolicies: false,
    port: 0,
    host: '127.0.0.1',
    ...extra,
  };
}

async function setup(dryRun: boolean, queue = false) {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-metrics-'));
  await writeFile(join(dir, 'web.yaml'), POLICY);
  const region = await warmRegion({
    groups: [
      webGroup({ tags: { 'spotmax:policy': 'web' } }),
      webGroup({ name: 'bad', tags: { 'spotmax:detaching_delay_seconds': 'abc' } }),
    ],
  });
  const service = createService({
    cloud: region.cloud,
    clock: region.clock,
    logger: silentLogger,
    releasersFor: () => [new NoopReleaser()],
    notifications: region.events,
    options: options({ policyDir: dir, dryRun, queueUrls: queue ? [region.queueUrl] : [] }),
  });
  await service.start();
  // Five minutes: the standbys launch, boot and are stopped; five full passes run.
  await region.clock.advanceBy(5 * 60_000);
  return { region, service, url: `http://127.0.0.1:${service.port}/metrics` };
}

test('/metrics answers what the loop did: passes, their duration, actions by kind and outcome, groups, standbys, leader', async (t) => {
  const { region, service, url } = await setup(false);
  try {
    const s = await scrape(url);
    const passes = value(s, 'spotmax_reconcile_passes_total', { scope: 'full', outcome: 'ok' }) ?? 0;
    t.true(passes >= 5, `${passes} full passes`);
    const duration = histogram(s, 'spotmax_reconcile_pass_seconds', { scope: 'full' });
    t.is(duration?.count, passes, 'one duration per full pass');
    t.is(value(s, 'spotmax_reconcile_actions_total', { kind: 'launch-standby', outcome: 'done' }), 2);
    t.is(value(s, 'spotmax_groups', { state: 'managed' }), 1);
    t.is(value(s, 'spotmax_groups', { state: 'unmanaged' }), 1);
    t.is(value(s, 'spotmax_groups', { state: 'problem' }), 1);
    t.is(value(s, 'spotmax_standbys_ready', { group: 'web' }), 2);
    t.is(value(s, 'spotmax_leader'), 1);
    t.true((value(s, 'process_resident_memory_bytes') ?? 0) > 0, 'default process metrics');
  } finally {
    await region.clock.drive(service.stop());
  }
});

test('every action taken and every new problem is published once on the bus, source spotmax', async (t) => {
  const { region, service } = await setup(false);
  try {
    await region.clock.drive(service.stop());
    const events = region.events.published;
    t.true(events.every((e) => e.source === 'spotmax' && e.bus === 'default'));
    const launches = events.filter((e) => e.detailType === 'spotmax action: launch-standby');
    t.is(launches.length, 2);
    t.like(launches[0]?.detail, {
      kind: 'launch-standby',
      group: 'web',
      outcome: 'done',
      region: 'us-east-1',
    });
    t.regex(String(launches[0]?.detail.reason), /standby/);
    // Five passes found the bad tag; operators hear of it once.
    const problems = events.filter((e) => e.detailType === 'spotmax problem');
    t.is(problems.length, 1, JSON.stringify(problems));
    t.like(problems[0]?.detail, { kind: 'problem', group: 'bad' });
    t.regex(String(problems[0]?.detail.reason), /abc/);
  } finally {
    await region.clock.drive(service.stop());
  }
});

test('a dry run publishes nothing', async (t) => {
  const { region, service, url } = await setup(true);
  try {
    const s = await scrape(url);
    t.true(
      (value(s, 'spotmax_reconcile_actions_total', { kind: 'launch-standby', outcome: 'dry-run' }) ?? 0) >= 1,
    );
    t.is(region.events.published.length, 0);
    t.is(region.api.stats.byAction.PutEvents ?? 0, 0);
  } finally {
    await region.clock.drive(service.stop());
  }
});

test('the fast path: a Spot warning is counted, its detach lag observed, and its detach published', async (t) => {
  const { region, service, url } = await setup(false, true);
  try {
    const victim = [...region.asg.mustGet('web').members.values()][0]!;
    region.market.reclaim(region.ec2.get(victim.instanceId)!);
    await region.clock.advanceBy(3 * 60_000);
    const s = await scrape(url);
    t.is(value(s, 'spotmax_interruption_warnings_total', { group: 'web' }), 1);
    t.is(histogram(s, 'spotmax_detach_lag_seconds', { group: 'web' })?.count, 1);
    // The pool has two standbys ready: one takes the interrupted instance's place.
    t.is(value(s, 'spotmax_interruptions_handled_total', { group: 'web', outcome: 'standby' }), 1);
    const detach = region.events.published.filter(
      (e) => e.detailType === 'spotmax action: interruption-detach',
    );
    t.is(detach.length, 1);
    t.like(detach[0]?.detail, { group: 'web', instance: victim.instanceId, outcome: 'done' });
    t.regex(
      String(detach[0]?.detail.reason),
      /^Spot interruption warning at .*; standby i-\w+ attached in its place$/,
    );
  } finally {
    await region.clock.drive(service.stop());
  }
});
