// Reconcile pass benchmark (issue 16): the service (app/service.ts) on the simulated region of
// scale-large (500 groups x 100 instances) with API latency 0, so every figure is spotmax's own cost
// plus the simulator answering its calls.
//  1. One full pass and one-group passes: CPU ms, read calls (beside the floor), peak RSS. One-group
//     passes are also timed on a 5-group region: their cost must not depend on the region's size.
//  2. 50 Spot warnings handled alone, then 50 delivered as a full pass starts: warning->detach p99, the
//     fast path's own overhead: wall time from the message's receive to DetachInstances sent (the CPU of
//     the handling and every wait for the event loop a pass holds), with the 20 ms coalescing window
//     counted as its real 20 ms: the virtual clock skips it in no wall time, or in 20 of a running
//     pass's turns, so its wall span is taken out and 20 ms added (windowSpans).
//  3. Part 2 again with every answer a turn of the event loop later (1 ms of virtual latency, no wall
//     time), as an HTTPS answer always comes: the fast path's overhead beside a pass against AWS.
// Run alone with `npx tsx bench/reconcile.ts`, or through `npm run bench -- reconcile`.
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createService, type Service } from '../src/app/service.js';
import { loadPoliciesOrFail } from '../src/config/load.js';
import { DEFAULT_COALESCE_WINDOW_MS } from '../src/controllers/interruption/controller.js';
import { buildSampleEvent } from '../src/domain/sample-events.js';
import type { Clock } from '../src/ports/clock.js';
import { silentLogger } from '../src/ports/logger.js';
import { NoopReleaser } from '../src/release/noop.js';
import { createSimulatedRegion, type SimRegion } from '../src/sim/region.js';
import { loadScenario } from '../src/sim/scenario.js';
import { loopHold } from './loop-hold.js';
import { withWarningTimes } from './warning-times.js';

type Figures = Record<string, number | string>;

const scenarios = new URL('./scenarios/', import.meta.url).pathname;
const READS = /^(Describe|Get|List)/;
const WARNINGS = 50;

const cpuMs = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};
const rssMb = () => `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

// A full collection before each heap reading, so the service's own heap is told apart from the region's
// (both live in this process): heap with the service minus heap once it is stopped and dropped.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function regionOf(groups: number): Promise<SimRegion> {
  const scenario = loadScenario(`${scenarios}scale-large.yaml`);
  scenario.api.latencyMs = 0;
  scenario.groups = scenario.groups.map((g) => ({ ...g, count: groups }));
  // No Spot warnings of the region's own: the bench delivers the ones it measures.
  scenario.market.hazardPerHour = 0;
  const region = createSimulatedRegion(scenario);
  await region.warmUp();
  return region;
}

/**
 * The wall-clock span of every coalescing window (the detach coalescer's sleep of
 * DEFAULT_COALESCE_WINDOW_MS): on the virtual clock a window that opens while a pass takes turns lasts
 * 20 of its turns (YIELD_TURN_MS each), whatever wall time they take. Without the pass it costs no wall
 * time at all. Either way the figure adds the window's real 20 ms once, so its wall span is taken out.
 */
function windowSpans(clock: SimRegion['clock']): { clock: Clock; spans: [number, number][] } {
  const spans: [number, number][] = [];
  const timed: Clock = {
    now: () => clock.now(),
    yield: () => clock.yield(),
    sleep: (ms, signal) => {
      if (ms !== DEFAULT_COALESCE_WINDOW_MS) return clock.sleep(ms, signal);
      const start = performance.now();
      return clock.sleep(ms, signal).finally(() => spans.push([start, performance.now()]));
    },
  };
  return { clock: timed, spans };
}

/** The service on `region`, its cloud recorded; warning receive and detach times noted (wall clock). */
async function serviceOn(region: SimRegion) {
  const { cloud, receivedAt, detachedAt } = withWarningTimes(region.cloud);
  const { clock, spans } = windowSpans(region.clock);
  const service = createService({
    cloud,
    clock,
    logger: silentLogger,
    releasersFor: () => [new NoopReleaser()],
    options: {
      queueUrls: [region.queueUrl],
      pollers: 2,
      concurrency: 64,
      // No scheduled pass within the bench: it starts each pass it measures.
      interval: '0 0 1 1 *',
      graceMs: 5_000,
      dryRun: false,
      policyDir: `${scenarios}policies`,
      watchPolicies: false,
    },
  });
  await loadPoliciesOrFail([`${scenarios}policies`]);
  return { service, receivedAt, detachedAt, spans };
}

/** API read actions the simulated region answered since `before` (a port call may be several pages). */
function readsSince(region: SimRegion, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [action, n] of Object.entries(region.api.stats.byAction))
    if (READS.test(action) && action !== 'ReceiveMessage' && n > (before[action] ?? 0))
      out[action] = n - (before[action] ?? 0);
  return out;
}
const mark = (region: SimRegion) => ({ ...region.api.stats.byAction });
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

/** CPU ms of one-group passes over `n` different groups: median and max. */
async function oneGroupPasses(region: SimRegion, service: Service, n: number) {
  const names = [...region.targets.keys()];
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = process.cpuUsage();
    await region.clock.drive(service.loop.runGroup(names[(i * 7) % names.length]!));
    times.push(cpuMs(cpu));
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), max: times[times.length - 1]! };
}

/** Delivers a warning for one member of each of `count` groups; resolves with their receive->detach wall ms. */
async function warnings(
  region: SimRegion,
  s: Awaited<ReturnType<typeof serviceOn>>,
  count: number,
  offset: number,
  during?: () => Promise<unknown>,
): Promise<number[]> {
  const names = [...region.targets.keys()];
  const ids = Array.from({ length: count }, (_, i) => {
    const group = region.asg.mustGet(names[(offset + i * 9) % names.length]!);
    return [...group.members.keys()][offset % group.members.size]!;
  });
  for (const id of ids) {
    const event = buildSampleEvent({
      type: 'spot-interruption',
      instanceId: id,
      region: region.cloud.region,
      time: region.clock.now(),
    });
    region.sqs.deliver(region.queueUrl, JSON.stringify(event));
  }
  const pass = during?.();
  // The clock jumps to the next timer whenever nothing is runnable: the window costs no wall time here.
  const start = region.clock.nowMs();
  await region.clock.drive(
    (async () => {
      while (ids.some((id) => !s.detachedAt.has(id)) && region.clock.nowMs() - start < 60_000)
        await region.clock.sleep(5);
      await pass;
    })(),
  );
  // Each warning's own window: the last one to close before its detach within its span (one group each).
  const ownWindow = (from: number, to: number) => {
    let own = 0;
    let end = Number.NEGATIVE_INFINITY;
    for (const [a, b] of s.spans) if (a >= from && b <= to && b > end) [own, end] = [b - a, b];
    return own;
  };
  return ids
    .filter((id) => s.detachedAt.has(id) && s.receivedAt.has(id))
    .map((id) => {
      const from = s.receivedAt.get(id)!;
      const to = s.detachedAt.get(id)!;
      return to - from - ownWindow(from, to) + DEFAULT_COALESCE_WINDOW_MS;
    })
    .sort((a, b) => a - b);
}

export async function benchReconcile(): Promise<Figures> {
  const small = await regionOf(5);
  const smallService = await serviceOn(small);
  await small.clock.drive(smallService.service.start());
  await small.clock.drive(smallService.service.loop.runOnce());
  const smallOne = await oneGroupPasses(small, smallService.service, 20);
  await small.clock.drive(smallService.service.stop());

  const region = await regionOf(500);
  const { figures, heapWithService, peakHeap } = await atFullSize(region, smallOne);
  // The service is stopped and unreachable now (the region's queue and clock keep nothing of it): what
  // is left on the heap is the region's, so the difference is the service's.
  const heapRegion = heapAfterGc();
  figures['service heap: kept between passes (after GC)'] = mb(heapWithService - heapRegion);
  figures['service heap: peak during a full pass'] = mb(peakHeap - heapRegion);
  figures['simulated region heap (after GC)'] = mb(heapRegion);
  return figures;
}

async function atFullSize(
  region: SimRegion,
  smallOne: { median: number; max: number },
): Promise<{ figures: Figures; heapWithService: number; peakHeap: number }> {
  const rssSim = rssMb();
  const s = await serviceOn(region);
  const { service } = s;
  const members = [...region.targets.keys()].reduce((n, g) => n + region.asg.mustGet(g).members.size, 0);
  // start() begins the first full pass; runOnce() joins it.
  let before = mark(region);
  let cpu = process.cpuUsage();
  await region.clock.drive(service.start());
  const first = await region.clock.drive(service.loop.runOnce());
  const firstMs = cpuMs(cpu);
  const firstReads = readsSince(region, before);
  before = mark(region);
  cpu = process.cpuUsage();
  await region.clock.drive(service.loop.runOnce());
  const fullMs = cpuMs(cpu);
  const fullReads = readsSince(region, before);
  // The same pass again, watched: how long it held the event loop at most, and its peak heap.
  const held = await loopHold(() => region.clock.drive(service.loop.runOnce()));
  const heapWithService = heapAfterGc();
  const floor = Math.ceil(500 / 100) + Math.ceil(members / 1000);
  before = mark(region);
  const one = await oneGroupPasses(region, service, 20);
  const oneReads = readsSince(region, before);

  const alone = await warnings(region, s, WARNINGS, 1);
  // The passes the warnings requeued, and EC2's request bucket refilled, before the next part.
  await region.clock.advanceBy(60_000);
  const throttles = region.api.stats.throttles;
  before = mark(region);
  let passMs = 0;
  let passGroups = 0;
  const withPass = await warnings(region, s, WARNINGS, 2, async () => {
    const c = process.cpuUsage();
    passGroups = (await service.loop.runOnce())?.resolved.length ?? 0;
    passMs = cpuMs(c);
  });
  const passReads = readsSince(region, before);
  const passThrottles = region.api.stats.throttles - throttles;

  // The same two parts with every answer on a later turn of the event loop, as an HTTPS answer from AWS
  // always is: 1 ms of virtual latency a call, which costs no wall time (the clock leaps it) but lets the
  // fast path run between the pass's calls. At latency 0 the simulator answers a 53-page describe in one
  // stretch of microtasks, a hold no real read makes; these figures are the fast path's own overhead as
  // it shares the process with a pass against AWS.
  const SERVICES = ['ec2', 'autoscaling', 'sqs'] as const;
  const throttledBefore = { ...region.api.stats.throttlesByAction };
  for (const svc of SERVICES) region.api.setFault(svc, { latencyMs: 1 });
  await region.clock.advanceBy(60_000);
  const aloneTurns = await warnings(region, s, WARNINGS, 3);
  await region.clock.advanceBy(60_000);
  const withPassTurns = await warnings(region, s, WARNINGS, 4, () => service.loop.runOnce());
  for (const svc of SERVICES) region.api.setFault(svc, undefined);
  const turnThrottles = region.api.stats.throttles - throttles - passThrottles;
  const throttledActions = Object.entries(region.api.stats.throttlesByAction)
    .map(([action, n]) => [action, n - (throttledBefore[action] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const ms = (v: number) => v.toFixed(1);
  const p50p99 = (xs: number[]) => `${ms(percentile(xs, 50))} / ${ms(percentile(xs, 99))}`;
  const figures: Figures = {
    'region: groups x members': `500 x ${members / 500}`,
    'peak RSS, simulated region alone': rssSim,
    'start + first full passes: CPU ms': ms(firstMs),
    'first full passes: groups acted on': first?.groups.filter((g) => g.results.length > 0).length ?? 0,
    'start + first full passes: read calls': `${total(firstReads)} ${JSON.stringify(firstReads)}`,
    'full pass: CPU ms': ms(fullMs),
    'full pass: read calls': `${total(fullReads)} ${JSON.stringify(fullReads)}`,
    'full pass: floor (DescribeASG + DescribeInstances)': `${floor} + tag lookups`,
    'full pass: longest event-loop hold, CPU / wall ms': `${ms(held.cpuMs)} / ${ms(held.wallMs)}`,
    'one-group pass, 500 groups: CPU ms median / max': `${ms(one.median)} / ${ms(one.max)}`,
    'one-group pass, 5 groups: CPU ms median / max': `${ms(smallOne.median)} / ${ms(smallOne.max)}`,
    'one-group passes: read calls per pass': JSON.stringify(
      Object.fromEntries(Object.entries(oneReads).map(([k, v]) => [k, v / 20])),
    ),
    'peak RSS, region + service': rssMb(),
    [`${WARNINGS} warnings alone: detached`]: alone.length,
    [`${WARNINGS} warnings alone: receive->detach p50 / p99 ms`]: `${ms(percentile(alone, 50))} / ${ms(percentile(alone, 99))}`,
    [`${WARNINGS} warnings + full pass: detached`]: withPass.length,
    [`${WARNINGS} warnings + full pass: receive->detach p50 / p99 ms`]: `${ms(percentile(withPass, 50))} / ${ms(percentile(withPass, 99))}`,
    'full pass during the warnings: groups, CPU ms (warnings included)': `${passGroups}, ${ms(passMs)}`,
    'full pass during the warnings: read calls': `${total(passReads)} ${JSON.stringify(passReads)}`,
    'throttled calls during that part': passThrottles,
    [`answers a turn later (as HTTP): ${WARNINGS} warnings alone: receive->detach p50 / p99 ms`]:
      p50p99(aloneTurns),
    [`answers a turn later (as HTTP): ${WARNINGS} warnings + full pass: receive->detach p50 / p99 ms`]: `${p50p99(withPassTurns)} (${withPassTurns.length} detached, ${turnThrottles} throttled calls${throttledActions.length ? `: ${JSON.stringify(Object.fromEntries(throttledActions))}` : ''})`,
    'peak RSS at the end': rssMb(),
  };
  await region.clock.drive(service.stop());
  return { figures, heapWithService, peakHeap: held.peakHeapBytes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchReconcile();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(56)} ${v}`);
}
