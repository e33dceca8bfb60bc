// Interruption fast path benchmark (issue 3), two parts:
//  1. Against moto: the time from a message becoming visible (SendMessage returned) to DetachInstances
//     being sent, p50/p99 over 500 events at a steady 10 events/s, with 1 and 4 pollers, detach delay 0.
//     Timestamped in-process: receive returned -> DetachInstances sent is spotmax's path; minus the two
//     AWS calls on it (DescribeInstances for the marker check, CreateTags for the marker) it is spotmax's
//     own overhead, coalescing window included. moto is a single Python process on a shared machine,
//     so its call times dominate the end-to-end figures; the own-overhead figures are what spotmax adds.
//  2. With in-memory fakes: process memory and dedupe-store size over 10,000 events (entries expire).
// Run alone with `npx tsx bench/interruption.ts`, or through `npm run bench -- interruption`.
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ResolvedGroup } from '../src/config/resolved.js';
import { defaultSettings } from '../src/config/schema.js';
import {
  createInterruptionController,
  DEFAULT_COALESCE_WINDOW_MS,
} from '../src/controllers/interruption/controller.js';
import { createDirectory, type GroupDirectory } from '../src/controllers/interruption/directory.js';
import { buildSampleEvent } from '../src/domain/sample-events.js';
import type { InterruptionStats } from '../src/controllers/interruption/stats.js';
import type { Group, Instance } from '../src/domain/types.js';
import { type Clock, systemClock } from '../src/ports/clock.js';
import type { Cloud } from '../src/ports/cloud.js';
import { silentLogger } from '../src/ports/logger.js';
import { noMetrics } from '../src/ports/metrics.js';
import { NoopReleaser } from '../src/release/noop.js';
import {
  addSpotMembers,
  createTestQueue,
  seedGroup,
  testClients,
  testCloud,
} from '../test/helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_REGION } from '../test/helpers/moto.js';

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
  const receivedAt = new Map<string, number>();
  const detachedAt = new Map<string, number>();
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
  const cloud: Cloud = {
    ...base,
    ec2: Object.assign(Object.create(base.ec2), {
      describeInstances: timed(base.ec2.describeInstances.bind(base.ec2), (...a) => a[0]),
      createTags: timed(base.ec2.createTags.bind(base.ec2), (...a) => a[0]),
    }),
    queue: Object.assign(Object.create(base.queue), {
      receive: async (...args: Parameters<Cloud['queue']['receive']>) => {
        const messages = await base.queue.receive(...args);
        const now = performance.now();
        for (const m of messages) {
          const id = /"instance-id":"(i-[0-9a-f]+)"/.exec(m.body)?.[1];
          if (id && !receivedAt.has(id)) receivedAt.set(id, now);
        }
        return messages;
      },
    }),
    autoscaling: Object.assign(Object.create(base.autoscaling), {
      detachInstances: (group: string, list: string[], decrement: boolean) => {
        const now = performance.now();
        for (const id of list) if (!detachedAt.has(id)) detachedAt.set(id, now);
        return base.autoscaling.detachInstances(group, list, decrement);
      },
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

/** A clock the memory run moves itself: each event is 360 ms after the previous (10,000 in an hour). */
function steppedClock(): Clock & { advance(ms: number): void } {
  let t = Date.parse('2026-01-01T00:00:00Z');
  return {
    now: () => new Date(t),
    sleep: (_ms, signal) =>
      signal?.aborted ? Promise.reject(signal.reason) : new Promise((r) => setImmediate(r)),
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Fakes that keep nothing per instance, so the figures show the handler's own memory. */
function statelessCloud(): Cloud {
  const instance = (instanceId: string): Instance => ({
    instanceId,
    state: 'running',
    market: 'spot',
    instanceType: 'm5.large',
    availabilityZone: 'us-east-1a',
    launchTime: new Date(0),
    tags: {},
  });
  const none = async () => undefined;
  return {
    region: TEST_REGION,
    autoscaling: {
      describeGroups: async () => [],
      detachInstances: none,
      attachInstances: none,
      updateGroup: none,
      putGroupTags: none,
      deleteGroupTags: none,
      describeScalingActivities: async () => [],
      completeLifecycleAction: none,
      recordLifecycleActionHeartbeat: none,
      describeHookHeartbeatSeconds: async () => undefined,
    },
    ec2: {
      describeInstances: async (ids: string[]) => ids.map(instance),
      createTags: none,
    } as unknown as Cloud['ec2'],
    tagging: { findResourceIds: async () => [] },
    queue: {
      receive: async () => [],
      delete: none,
      changeVisibility: none,
      send: async () => 'm',
      check: none,
    },
    metrics: noMetrics,
  };
}

async function memoryRun(): Promise<Figures> {
  const clock = steppedClock();
  const resolved: ResolvedGroup = {
    group: {
      name: 'mem',
      desired: 100,
      min: 0,
      max: 200,
      availabilityZones: [],
      subnetIds: [],
      tags: [],
      members: [],
    },
    managed: true,
    problems: [],
    settings: defaultSettings(),
    provenance: {},
  };
  const directory: GroupDirectory = {
    lookup: async () => ({ resolved }),
    lookupGroup: async () => resolved,
    update: () => {},
  };
  const controller = createInterruptionController({
    cloud: statelessCloud(),
    clock,
    logger: silentLogger,
    queueUrls: [],
    pollers: 1,
    concurrency: 64,
    dryRun: false,
    directory,
    releasersFor: () => [new NoopReleaser()],
  });
  const figures: Figures = {};
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  // A full collection before each reading, so the figures show what is retained, not garbage.
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  const snapshot = async (label: string) => {
    // Let timers of the last batch (coalescing windows, release time limits) run out first.
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    const m = process.memoryUsage();
    figures[`memory after ${label}: rss MB`] = mb(m.rss);
    figures[`memory after ${label}: heap used MB`] = mb(m.heapUsed);
    figures[`memory after ${label}: dedupe entries`] = controller.stats().dedupeEntries;
  };
  await snapshot('0 events');
  const batch = 50;
  for (let i = 0; i < 10_000; i += batch) {
    await Promise.all(
      Array.from({ length: batch }, (_, k) => {
        const id = `i-${(0x100000000000 + i + k).toString(16).padStart(17, '0')}`;
        const body = JSON.stringify(
          buildSampleEvent({
            type: 'spot-interruption',
            instanceId: id,
            region: TEST_REGION,
            time: clock.now(),
          }),
        );
        return controller.handleMessage(
          { messageId: `m${i + k}`, receiptHandle: 'r', body, receiveCount: 1 },
          'q',
        );
      }),
    );
    clock.advance(360 * batch);
    if (i + batch === 1_000 || i + batch === 5_000 || i + batch === 10_000)
      await snapshot(`${i + batch} events`);
  }
  figures['memory: detached'] = controller.stats().detached;
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
