import { buildSampleEvent, lifecycleSampleEvent, type SampleEventOptions } from '../domain/sample-events.js';
import { GROUP_TAG } from '../domain/tags.js';
import type { Cloud } from '../ports/cloud.js';
import { SimApi } from './api.js';
import { SimAutoScaling } from './asg-port.js';
import { AsgState, DEFAULT_ASG_TIMINGS, type SimHook } from './asg-state.js';
import { SimBus } from './bus.js';
import { VirtualClock } from './clock.js';
import { SimCoordination } from './coordination.js';
import { SimEc2 } from './ec2-port.js';
import { DEFAULT_EC2_TIMINGS, Ec2State } from './ec2-state.js';
import { SimEventBus } from './events.js';
import { SpotMarket } from './market.js';
import { SimMetricsSink } from './metrics.js';
import { Random } from './random.js';
import { expandGroups, type Scenario } from './scenario.js';
import { SimSqs } from './sqs.js';
import { VolumeState } from './volumes.js';

// The simulated region: every port spotmax uses, over one shared state, one virtual clock and one seed.
// The clock starts a warm-up before the scenario's start so the initial fleet is InService when the
// scenario (and the measuring) begins; the market reclaims nothing before the start.

export interface SimRegion {
  cloud: Cloud;
  clock: VirtualClock;
  /** The queue the EventBridge rule delivers to. */
  queueUrl: string;
  scenario: Scenario;
  seed: number;
  /** Scenario start and end, ms. */
  start: number;
  end: number;
  bus: SimBus;
  api: SimApi;
  asg: AsgState;
  ec2: Ec2State;
  volumes: VolumeState;
  market: SpotMarket;
  sqs: SimSqs;
  metrics: SimMetricsSink;
  /**
   * The coordination store (the DynamoDB table of a multi-replica deployment), on the region's clock;
   * `coordination.replica(clock)` gives another replica its own view.
   */
  coordination: SimCoordination;
  /** The account's default EventBridge bus: what spotmax published (notifications) is in `events.published`. */
  events: SimEventBus;
  random: Random;
  /** Group name → the desired capacity the scenario asks for (the yardstick of the capacity gap). */
  targets: Map<string, number>;
  /** Plays the warm-up: the clock reaches the scenario start with the initial fleet launched. */
  warmUp(): Promise<void>;
  /**
   * Awaits `work` while the virtual clock moves on in small steps: for one-shot use of the ports
   * outside a paced or scripted run (plan/apply against the sim), where nothing else advances time and
   * a call waiting out its latency or a throttling backoff would otherwise wait forever.
   */
  drive<T>(work: Promise<T>, stepMs?: number): Promise<T>;
}

export interface RegionOptions {
  seed?: number;
  /** Replaces the scenario's duration (seconds), e.g. to keep tests short. */
  durationSeconds?: number;
}

export function createSimulatedRegion(scenario: Scenario, options: RegionOptions = {}): SimRegion {
  const seed = options.seed ?? scenario.seed;
  const random = new Random(seed);
  const start = Date.parse(scenario.start);
  const end = start + (options.durationSeconds ?? scenario.duration) * 1000;
  const groups = expandGroups(scenario);
  const warmupMs = Math.max(600, ...groups.map((g) => g.boot.p99 * 3)) * 1000;
  const clock = new VirtualClock(start - warmupMs);
  const bus = new SimBus();
  const api = new SimApi(clock, random, {
    faults: scenario.api.faults,
    autoscalingBucket: scenario.api.autoscalingBucket,
    maxAttempts: scenario.api.maxAttempts,
    defaultLatencyMs: scenario.api.latencyMs,
  });
  const region = scenario.region;
  const ec2 = new Ec2State(clock, random, bus, region, {
    ...DEFAULT_EC2_TIMINGS,
    start: scenario.timings.start,
    resume: scenario.timings.resume,
    visibleLag: {
      minSeconds: scenario.api.launchVisibleAfter.min,
      maxSeconds: scenario.api.launchVisibleAfter.max,
    },
  });
  const volumes = new VolumeState(clock, ec2, bus);
  const sqs = new SimSqs(clock, api, random, region, scenario.queue.duplicateRate);
  const queueUrl = sqs.createQueue('spotmax-events', scenario.queue.visibilityTimeoutSeconds);
  let eventSeq = 0;
  // Deterministic ids (seeded runs replay byte for byte); the zero UUID in group ARNs for the same reason.
  const ctx = (time: Date) => {
    const n = ++eventSeq;
    return {
      region,
      time,
      id: `${ec2.hex(`evt:${n}`, 8)}-${ec2.hex(`evt2:${n}`, 4)}-4${ec2.hex(`evt3:${n}`, 3)}-8000-${n.toString(16).padStart(12, '0')}`,
      groupUuid: '00000000-0000-0000-0000-000000000000',
    };
  };
  const deliver = (at: Date, o: Pick<SampleEventOptions, 'type' | 'instanceId' | 'state'>) =>
    sqs.deliver(queueUrl, JSON.stringify(buildSampleEvent({ ...ctx(at), ...o })));
  const asg = new AsgState(
    clock,
    ec2,
    bus,
    {
      lifecycleEvent: (f) => sqs.deliver(queueUrl, JSON.stringify(lifecycleSampleEvent(f, ctx(clock.now())))),
    },
    {
      ...DEFAULT_ASG_TIMINGS,
      healthCheckSeconds: scenario.timings.healthCheckSeconds,
      launchRetrySeconds: scenario.timings.launchRetrySeconds,
    },
  );
  const offset = (seconds: number) => start + seconds * 1000;
  const storms = scenario.market.storms.map((s, i) => ({
    name: s.name ?? `storm ${i + 1}`,
    at: offset(s.at),
    instanceType: s.instanceType,
    az: s.az,
    share: s.share,
    withinSeconds: s.within,
  }));
  const outages = scenario.market.outages.map((o, i) => ({
    ...o,
    name: o.name ?? `outage ${i + 1}`,
    from: offset(o.from),
    to: offset(o.to),
  }));
  const market = new SpotMarket(
    clock,
    random,
    ec2,
    bus,
    {
      defaultHazardPerHour: scenario.market.hazardPerHour,
      hazards: scenario.market.hazards,
      storms,
      outages,
      rebalance: scenario.market.rebalance
        ? { share: scenario.market.rebalance.share, leadSeconds: scenario.market.rebalance.lead }
        : undefined,
      stateChangeEvents: scenario.market.stateChangeEvents,
      start,
    },
    {
      warning: (inst, at) => deliver(at, { type: 'spot-interruption', instanceId: inst.instanceId }),
      rebalance: (inst, at) => deliver(at, { type: 'rebalance', instanceId: inst.instanceId }),
      stateChange: (inst, state, at) =>
        deliver(at, { type: 'state-change', instanceId: inst.instanceId, state }),
    },
    end,
  );

  const targets = new Map<string, number>();
  for (const g of groups) {
    const tpl = ec2.addTemplate({
      name: `${g.name}-lt`,
      defaultVersion: 1,
      versions: [
        {
          version: 1,
          instanceType: g.instanceTypes[0]!,
          hibernation: g.hibernation,
          boot: g.boot,
          ...(g.persistentVolume?.inTemplate
            ? { blockDevices: [{ device: g.persistentVolume.device, sizeGiB: g.persistentVolume.sizeGiB }] }
            : {}),
        },
      ],
    });
    const hooks: SimHook[] = g.lifecycleHooks.map((h) => ({
      name: h.name,
      transition:
        h.transition === 'launching'
          ? 'autoscaling:EC2_INSTANCE_LAUNCHING'
          : 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeoutSeconds: h.heartbeatTimeoutSeconds,
      defaultResult: h.defaultResult,
    }));
    asg.createGroup({
      name: g.name,
      min: g.min ?? 0,
      max: g.max ?? Math.max(g.desired * 2, g.desired + 10),
      desired: g.desired,
      azs: g.azs,
      mixedInstancesPolicy: {
        launchTemplate: { id: tpl.id, name: tpl.name, version: '$Latest' },
        overrides: g.instanceTypes.map((t) => ({
          instanceType: t,
          ...(g.weights?.[t] !== undefined ? { weightedCapacity: String(g.weights[t]) } : {}),
        })),
        instancesDistribution: {
          onDemandAllocationStrategy: 'prioritized',
          onDemandBaseCapacity: g.onDemandBase,
          onDemandPercentageAboveBaseCapacity: g.onDemandPercentage,
          spotAllocationStrategy: 'price-capacity-optimized',
        },
      },
      tags: [
        ...Object.entries(g.tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
        ...(g.adopted ? [{ key: GROUP_TAG, value: g.name, propagateAtLaunch: true }] : []),
      ],
      hooks,
      capacityRebalance: g.capacityRebalance,
      suspendedProcesses: g.suspendedProcesses,
      ...(g.desiredCapacityType ? { desiredCapacityType: g.desiredCapacityType } : {}),
    });
    targets.set(g.name, g.desired);
    if (g.persistentVolume && !g.persistentVolume.inTemplate) {
      volumes.create({
        availabilityZone: g.azs[0]!,
        sizeGiB: g.persistentVolume.sizeGiB,
        tags: { 'spotmax:group': g.name, Name: `${g.name}-data` },
      });
    }
  }

  const metrics = new SimMetricsSink();
  const cloud: Cloud = {
    region,
    autoscaling: new SimAutoScaling(asg, api),
    ec2: new SimEc2(ec2, volumes, api),
    queue: sqs,
    metrics,
  };
  return {
    cloud,
    clock,
    queueUrl,
    scenario,
    seed,
    start,
    end,
    bus,
    api,
    asg,
    ec2,
    volumes,
    market,
    sqs,
    metrics,
    coordination: new SimCoordination(api, clock),
    events: new SimEventBus(api),
    random,
    targets,
    warmUp: () => clock.runUntil(start),
    drive: async (work, stepMs = 100) => {
      let done = false;
      const settled = work.finally(() => {
        done = true;
      });
      settled.catch(() => undefined);
      while (!done) await clock.advanceBy(stepMs);
      return settled;
    },
  };
}
