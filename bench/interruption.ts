// Interruption fast path benchmark (issue 3), two parts:
//  1. Against moto: the time from a message becoming visible (SendMessage returned) to DetachInstances
//     being sent, p50/p99 over 500 events at a steady 10 events/s, with 1 and 4 pollers, detach delay 0.
//     Timestamped in-process: receive returned -> DetachInstances sent is spotmax's path; minus the two
//     AWS calls on it (DescribeInstances for the marker check, CreateTags for the marker) it is spotmax's
//     own overhead, coalescing window included. moto is a single Python process on a shared machine,
//     so its call times dominate the end-to-end figures; the own-overhead figures are what spotmax adds.
//  2. On the simulated region and its VirtualClock: heap, RSS and dedupe-store size over 10,000 Spot
//     warnings in one virtual hour, beside the same region played alone (see memoryRun below).
// Run alone with `npx tsx bench/interruption.ts`, or through `npm run bench -- interruption`.
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ResolvedGroup } from '../src/config/resolved.js';
import { defaultSettings } from '../src/config/schema.js';
import {
  createInterruptionController,
  DEFAULT_COALESCE_WINDOW_MS,
  type InterruptionController,
} from '../src/controllers/interruption/controller.js';
import { createDirectory } from '../src/controllers/interruption/directory.js';
import type { InterruptionStats } from '../src/controllers/interruption/stats.js';
import { buildSampleEvent } from '../src/domain/sample-events.js';
import type { Group } from '../src/domain/types.js';
import { systemClock } from '../src/ports/clock.js';
import type { Cloud } from '../src/ports/cloud.js';
import { silentLogger } from '../src/ports/logger.js';
import { NoopReleaser } from '../src/release/noop.js';
import { createSimulatedRegion } from '../src/sim/region.js';
import { type Scenario, scenarioSchema } from '../src/sim/scenario.js';
import {
  addSpotMembers,
  createTestQueue,
  seedGroup,
  testClients,
  testCloud,
} from '../test/helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_REGION } from '../test/helpers/moto.js';
import { withWarningTimes } from './warning-times.js';

type Figures = Record<string, number | string>;

const EVENTS = 500;
const GROUPS = 5;
const RATE_PER_SECOND = 10;
/** The controller's default coalescing window. */
const WINDOW_MS = DEFAULT_COALESCE_WINDOW_MS;

const resolveManaged = (groups: Group[]): ResolvedGroup[] =>
  groups.map((group) => ({
    group,
    managed: true,
    problems: [],
    settings: defaultSettings(),
    provenance: {},
  }));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (v: number) => Math.round(v * 10) / 10;

const pick = (s: InterruptionStats) => ({
  received: s.received,
  deleted: s.deleted,
  detached: s.detached,
  inFlight: s.inFlight,
  failed: s.failed,
  discarded: s.discarded,
  receiveErrors: s.receiveErrors,
});

async function latencyRun(moto: Moto, pollers: number, coalesceWindowMs: number): Promise<Figures> {
  await moto.reset();
  const clients = testClients(moto.endpoint);
  const base = testCloud(moto.endpoint);
  const ids: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const name = `bench-${g}`;
    await seedGroup(clients, { name, tags: { 'spotmax:managed': 'true' }, desired: 0, max: 1000 });
    ids.push(...(await addSpotMembers(clients.ec2, clients.autoscaling, name, EVENTS / GROUPS)));
  }
  const queueUrl = await createTestQueue(clients.sqs, `bench-${pollers}-${coalesceWindowMs}`);

  const visibleAt = new Map<string, number>();
  const awsMs = new Map<string, number>();
  const timed =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>, idsOf: (...a: A) => string[]) =>
    async (...a: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await fn(...a);
      } finally {
        const took = performance.now() - t0;
        for (const id of idsOf(...a)) awsMs.set(id, (awsMs.get(id) ?? 0) + took);
      }
    };
  const marked = withWarningTimes(base);
  const { receivedAt, detachedAt } = marked;
  const cloud: Cloud = {
    ...marked.cloud,
    ec2: Object.assign(Object.create(base.ec2), {
      describeInstances: timed(base.ec2.describeInstances.bind(base.ec2), (...a) => a[0]),
      createTags: timed(base.ec2.createTags.bind(base.ec2), (...a) => a[0]),
    }),
  };
  const directory = createDirectory({ cloud, resolve: resolveManaged, clock: systemClock, ttlMs: 1000 });
  directory.update(resolveManaged(await cloud.autoscaling.describeGroups()));
  const controller = createInterruptionController({
    cloud,
    clock: systemClock,
    logger: silentLogger,
    queueUrls: [queueUrl],
    pollers,
    concurrency: 64,
    dryRun: false,
    directory,
    releasersFor: () => [new NoopReleaser()],
    options: { coalesceWindowMs, waitSeconds: 20 },
  });
  controller.start();
  const started = performance.now();
  let sendFailures = 0;
  for (let i = 0; i < ids.length; i++) {
    const due = started + (i * 1000) / RATE_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = ids[i]!;
    const body = JSON.stringify(
      buildSampleEvent({ type: 'spot-interruption', instanceId: id, region: TEST_REGION }),
    );
    // Sends run concurrently with the consumer; the message is visible once SendMessage has returned.
    void base.queue.send(queueUrl, body).then(
      () => visibleAt.set(id, performance.now()),
      () => sendFailures++,
    );
  }
  const deadline = Date.now() + 60_000;
  while (controller.stats().detached < ids.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const atEnd = pick(controller.stats());
  const missing = ids.filter((id) => !detachedAt.has(id));
  const stuck = missing.map((id) => `${id}: received=${receivedAt.has(id)} awsMs=${ms(awsMs.get(id) ?? -1)}`);
  await controller.stop(5000);

  const path: number[] = [];
  const own: number[] = [];
  const aws: number[] = [];
  const total: number[] = [];
  for (const id of ids) {
    const d = detachedAt.get(id);
    if (d === undefined) continue;
    const r = receivedAt.get(id);
    const v = visibleAt.get(id);
    if (r !== undefined) {
      path.push(d - r);
      aws.push(awsMs.get(id) ?? 0);
      own.push(Math.max(0, d - r - (awsMs.get(id) ?? 0)));
    }
    if (v !== undefined) total.push(Math.max(0, d - v));
  }
  for (const list of [path, own, aws, total]) list.sort((a, b) => a - b);
  const prefix = `moto ${pollers} poller${pollers > 1 ? 's' : ''}, window ${coalesceWindowMs} ms:`;
  return {
    [`${prefix} detached`]: `${detachedAt.size}/${ids.length}`,
    [`${prefix} outcomes`]: JSON.stringify({
      sendFailures,
      receivedIds: receivedAt.size,
      ...atEnd,
      ...(stuck.length > 0 ? { stuck } : {}),
    }),
    [`${prefix} visible->detach p50 ms`]: ms(percentile(total, 50)),
    [`${prefix} visible->detach p99 ms`]: ms(percentile(total, 99)),
    [`${prefix} receive->detach p50 ms`]: ms(percentile(path, 50)),
    [`${prefix} receive->detach p99 ms`]: ms(percentile(path, 99)),
    [`${prefix} of which moto calls p50 ms`]: ms(percentile(aws, 50)),
    [`${prefix} spotmax own overhead p50 ms`]: ms(percentile(own, 50)),
    [`${prefix} spotmax own overhead p99 ms`]: ms(percentile(own, 99)),
  };
}

// The memory run plays on the simulated region (the one fake) and its VirtualClock: one managed group
// of 1,000 Spot instances; every 360 ms of virtual time (10,000 in an hour) the region's Spot market
// reclaims one running member (market.reclaim: the 2-minute warning, built by domain/sample-events,
// lands on the region's queue, the instance is terminated at its deadline). The interruption controller
// receives from that queue with its own consumer, as in production, and the directory is fed every
// virtual minute as the reconcile loop feeds it in app/service.ts.
//
// The region keeps state of its own that grows over the run (EC2 remembers a terminated instance for an
// hour, so after 10,000 reclaims in one hour nearly all of them are still there), so its memory is not
// bounded here. Instead the same region, the same reclaims and the same virtual time are played twice:
// once alone (a bare loop receives and deletes the warnings, so the queue does not pile up; the group
// replaces its reclaimed members itself), once with the controller. Both heaps are reported; their
// difference is the controller's own retained memory (dedupe store, directory, coalescer, consumer), plus
// the little the controller makes the region keep: the marker tag on every instance it handled (kept an
// hour after termination like the instance), replacements launched at the detach rather than after the
// termination (a few hundred more instances kept, counted below), the sink's last 1,000 metric data.
// (VirtualClock drops a cancelled timer's callback at once, so cancelled deadlines hold nothing.)
const MEM_EVENTS = 10_000;
const MEM_SPACING_MS = 360;
const MEM_CHECKPOINTS = [1_000, 5_000, 10_000];
const MEM_GROUP = 'mem';

function memoryScenario(): Scenario {
  return scenarioSchema.parse({
    name: 'bench-interruption-memory',
    duration: '2h',
    prices: { 'm5.large': { onDemand: 0.096, spot: 0.036 } },
    groups: [
      {
        name: MEM_GROUP,
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 1_000,
        max: 2_000,
        boot: { median: 60, p99: 90 },
        tags: { 'spotmax:managed': 'true' },
      },
    ],
    // No reclaims of the market's own: the run reclaims one member per event itself.
    market: { hazardPerHour: 0 },
    // No API latency: each warning's work is done well within its 360 ms.
    api: { latencyMs: 0 },
  });
}

interface MemoryReading {
  rss: number;
  heapUsed: number;
  dedupeEntries?: number;
  /** EC2 instances the region remembers (terminated ones included). */
  regionInstances: number;
}

interface MemoryPlay {
  readings: Map<number, MemoryReading>;
  stats?: InterruptionStats;
  reclaimed: number;
}

// A full collection before each reading, so the figures show what is retained, not garbage.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

/** One play of the memory run: the region alone, or the region with the interruption controller. */
const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

async function playMemory(withController: boolean): Promise<MemoryPlay> {
  const region = createSimulatedRegion(memoryScenario());
  await region.warmUp();
  const { clock, cloud, queueUrl } = region;
  const running = new AbortController();
  const loops: Promise<unknown>[] = [];
  let controller: InterruptionController | undefined;
  if (withController) {
    const directory = createDirectory({ cloud, resolve: resolveManaged, clock, ttlMs: 10_000 });
    // What the reconcile loop's pass does in app/service.ts: the directory gets the latest observation.
    const feed = async () => {
      while (!running.signal.aborted) {
        const groups = await cloud.autoscaling.describeGroups();
        // The pass's member read, kept for its load on the simulated API; the directory needs the groups only.
        await cloud.ec2.describeInstances(groups.flatMap((g) => g.members.map((m) => m.instanceId)));
        directory.update(resolveManaged(groups));
        await clock.sleep(60_000, running.signal);
      }
    };
    loops.push(feed().catch(() => undefined));
    controller = createInterruptionController({
      cloud,
      clock,
      logger: silentLogger,
      queueUrls: [queueUrl],
      pollers: 1,
      concurrency: 64,
      dryRun: false,
      directory,
      releasersFor: () => [new NoopReleaser()],
    });
    controller.start();
  } else {
    const drain = async () => {
      while (!running.signal.aborted) {
        const messages = await cloud.queue.receive(queueUrl, {
          maxMessages: 10,
          waitSeconds: 20,
          signal: running.signal,
        });
        for (const m of messages) await cloud.queue.delete(queueUrl, m.receiptHandle);
      }
    };
    loops.push(drain().catch(() => undefined));
  }

  const members = region.asg.mustGet(MEM_GROUP).members;
  const victim = () => {
    for (const id of members.keys()) {
      const inst = region.ec2.get(id);
      if (inst && inst.state === 'running' && inst.reclaimAt === undefined) return inst;
    }
    return undefined;
  };
  const readings = new Map<number, MemoryReading>();
  const read = (events: number) => {
    gc?.();
    const m = process.memoryUsage();
    readings.set(events, {
      rss: m.rss,
      heapUsed: m.heapUsed,
      dedupeEntries: controller?.stats().dedupeEntries,
      regionInstances: region.ec2.instances.size,
    });
  };
  await clock.runUntil(region.start + MEM_SPACING_MS);
  read(0);
  let reclaimed = 0;
  for (let i = 0; i < MEM_EVENTS; i++) {
    const at = region.start + (i + 1) * MEM_SPACING_MS;
    await clock.runUntil(at);
    const inst = victim();
    if (inst) {
      region.market.reclaim(inst);
      reclaimed++;
    }
    // The reading comes one spacing later, the last warning's work done, at the same virtual time in both plays.
    if (MEM_CHECKPOINTS.includes(i + 1)) {
      await clock.runUntil(at + MEM_SPACING_MS);
      read(i + 1);
    }
  }
  running.abort(new Error('memory run over'));
  if (controller) await clock.drive(controller.stop(5_000));
  await clock.drive(Promise.allSettled(loops));
  return { readings, stats: controller?.stats(), reclaimed };
}

async function memoryRun(): Promise<Figures> {
  // The region alone first: the controller's play then starts with the region's code already compiled.
  const alone = await playMemory(false);
  const withController = await playMemory(true);
  const figures: Figures = {};
  for (const events of [0, ...MEM_CHECKPOINTS]) {
    const a = alone.readings.get(events);
    const c = withController.readings.get(events);
    if (!a || !c) continue;
    const label = `memory after ${events} events`;
    figures[`${label}: heap used MB, region alone`] = mb(a.heapUsed);
    figures[`${label}: heap used MB, region + controller`] = mb(c.heapUsed);
    figures[`${label}: heap used MB, controller's share`] = mb(c.heapUsed - a.heapUsed);
    figures[`${label}: rss MB, region alone / + controller`] = `${mb(a.rss)} / ${mb(c.rss)}`;
    figures[`${label}: dedupe entries`] = c.dedupeEntries ?? 0;
    figures[`${label}: region instances kept, alone / + controller`] =
      `${a.regionInstances} / ${c.regionInstances}`;
  }
  const s = withController.stats;
  figures['memory: reclaimed, region alone / + controller'] =
    `${alone.reclaimed} / ${withController.reclaimed}`;
  figures['memory: detached'] = s?.detached ?? 0;
  figures['memory: outcomes'] = JSON.stringify(s ? pick(s) : {});
  return figures;
}

export async function benchInterruption(): Promise<Record<string, number | string>> {
  // Memory first, before the SDK clients and moto runs inflate the heap.
  const figures: Figures = await memoryRun();
  const moto = await startMoto();
  try {
    for (const pollers of [1, 4]) Object.assign(figures, await latencyRun(moto, pollers, WINDOW_MS));
  } finally {
    await moto.stop();
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchInterruption();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(52)} ${v}`);
}
