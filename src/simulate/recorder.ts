import { STANDBY_FOR_TAG } from '../domain/tags.js';
import type { AsgState } from '../sim/asg-state.js';
import type { SimBus } from '../sim/bus.js';
import type { VirtualClock } from '../sim/clock.js';
import type { Ec2State } from '../sim/ec2-state.js';
import type { SimRegion } from '../sim/region.js';

// What a run is judged by, measured from the region's own events (never from what a strategy says it
// did): capacity gap below the scenario's desired, interruptions handled before their deadline, time
// from warning to a replacement InService, and cost against an all-On-Demand fleet.

export interface Prices {
  [instanceType: string]: { onDemand: number; spot: number };
}

export interface Measurements {
  interruptions: number;
  /** Share of warnings handled before their deadline; null when there was none. */
  handledBeforeDeadline: number | null;
  capacityGapInstanceSeconds: number;
  replacementSeconds: number[];
  cost: number;
  onDemandCost: number;
  /** Total InService capacity: the minimum within each of `timeline.length` equal slices of the run. */
  timeline: number[];
  desiredTotal: number;
  /** The time series behind the chart, one point per slice of the run. */
  series: Series;
}

/**
 * One point per slice of `stepSeconds`: `inService` is the lowest total InService (and running) within
 * the slice, so a short dip shows; the others are what held at the slice's start (read at the first
 * change at or after it): the groups' DesiredCapacity, serving members on Spot and On-Demand, standbys
 * kept (not terminated) and the fleet's billing rate in $/hour (every billed instance, standbys too).
 */
export interface Series {
  stepSeconds: number;
  inService: number[];
  desired: number[];
  spot: number[];
  onDemand: number[];
  standby: number[];
  costPerHour: number[];
}

type Point = Omit<Series, 'stepSeconds' | 'inService'>;

interface Warned {
  group: string;
  deadline: number;
  handled: boolean;
}

export class Recorder {
  private readonly targets: Map<string, number>;
  private readonly last = new Map<string, { inService: number; since: number }>();
  /**
   * group → members serving now, with the units each counts for: 1, or its weight in a weighted group
   * (sim/asg-units.ts), so the gap is measured in the units desired capacity counts.
   */
  private readonly serving = new Map<string, Map<string, Serving>>();
  /**
   * Units serving on Spot and On-Demand over all groups, kept as members come and go: each slice's point
   * read them off every serving member's instance, 720 times a run over 50,000 members (a fifth of a
   * 500-group run's CPU).
   */
  private spotUnits = 0;
  private onDemandUnits = 0;
  private gap = 0;
  private readonly warned = new Map<string, Warned>();
  private interruptions = 0;
  private handled = 0;
  private readonly pendingWarnings = new Map<string, number[]>();
  private readonly replacements: number[] = [];
  private cost = 0;
  private total = 0;
  private readonly buckets: number[];
  private bucket = 0;
  private lastTotal = 0;
  private readonly width: number;
  private readonly points: Point = { desired: [], spot: [], onDemand: [], standby: [], costPerHour: [] };

  constructor(
    private readonly clock: VirtualClock,
    bus: SimBus,
    private readonly asg: AsgState,
    private readonly ec2: Ec2State,
    targets: Map<string, number>,
    private readonly prices: Prices,
    private readonly start: number,
    private readonly end: number,
    slices = 720,
  ) {
    this.targets = targets;
    this.width = Math.max(1, (end - start) / slices);
    this.buckets = new Array(slices).fill(Number.POSITIVE_INFINITY);
    // The run starts with the initial fleet in service; measuring starts there.
    for (const name of targets.keys()) {
      const set = new Map<string, Serving>();
      for (const id of asg.groups.get(name)?.members.keys() ?? [])
        if (this.isServing(name, id)) this.serve(set, name, id);
      this.serving.set(name, set);
      this.last.set(name, { inService: sum(set), since: start });
      this.total += sum(set);
    }
    this.lastTotal = this.total;
    this.sampleUntil(start);
    // Each slice's point is read at the slice's own time, on the clock. Read lazily at the next bus event,
    // a quiet hour took the state of the change that ended it: desired is raised before any event says
    // so, and weighted.yaml's chart showed spotmax's desired 4 units over InService for an hour that in
    // fact had them equal (issue 16's closing note of session 5 asked why).
    for (let k = 1; k < slices; k++) clock.at(start + k * this.width, () => this.sampleUntil(clock.nowMs()));
    ec2.onBilled = (inst, seconds) => {
      this.cost += seconds * this.price(inst.instanceType, inst.market);
    };
    bus.on((e) => {
      switch (e.type) {
        case 'member-state':
          this.updateServing(e.group, e.instanceId);
          if (e.state === 'InService') this.replaced(e.group);
          break;
        case 'member-removed':
          this.unserve(this.serving.get(e.group), e.instanceId);
          this.capacityChanged(e.group);
          break;
        case 'spot-warning': {
          const group = this.asg.memberOf.get(e.instanceId);
          if (!group || !this.targets.has(group)) break;
          this.interruptions++;
          this.warned.set(e.instanceId, { group, deadline: e.deadline, handled: false });
          const q = this.pendingWarnings.get(group) ?? [];
          q.push(this.clock.nowMs());
          this.pendingWarnings.set(group, q);
          break;
        }
        case 'detach':
          for (const id of e.instanceIds) this.markHandled(id);
          break;
        case 'instance-state': {
          if (e.to === 'terminated') this.warned.delete(e.instanceId);
          const group = this.asg.memberOf.get(e.instanceId);
          if (group) this.updateServing(group, e.instanceId);
          break;
        }
      }
    });
  }

  private price(type: string, market: string): number {
    const p = this.prices[type];
    if (!p) return 0;
    return (market === 'spot' ? p.spot : p.onDemand) / 3600;
  }

  /** A strategy's own handling (drain-only's drain) counts when it finishes before the deadline. */
  markHandled(instanceId: string): void {
    const w = this.warned.get(instanceId);
    if (!w || w.handled || this.clock.nowMs() > w.deadline) return;
    w.handled = true;
    this.handled++;
  }

  /** Serving = InService in the group AND running in EC2 (the group notices a dead member only later). */
  /** The units a member counts for toward desired capacity. */
  private units(group: string, id: string): number {
    return this.asg.groups.get(group)?.members.get(id)?.weight ?? 1;
  }

  private isServing(group: string, id: string): boolean {
    const m = this.asg.groups.get(group)?.members.get(id);
    return m?.lifecycleState === 'InService' && this.ec2.get(id)?.state === 'running';
  }

  private updateServing(group: string, id: string): void {
    const set = this.serving.get(group);
    if (!set) return;
    if (this.isServing(group, id)) this.serve(set, group, id);
    else this.unserve(set, id);
    this.capacityChanged(group);
  }

  private serve(set: Map<string, Serving>, group: string, id: string): void {
    this.unserve(set, id);
    const s: Serving = { units: this.units(group, id), spot: this.ec2.get(id)?.market === 'spot' };
    set.set(id, s);
    if (s.spot) this.spotUnits += s.units;
    else this.onDemandUnits += s.units;
  }

  private unserve(set: Map<string, Serving> | undefined, id: string): void {
    const s = set?.get(id);
    if (!s) return;
    set!.delete(id);
    if (s.spot) this.spotUnits -= s.units;
    else this.onDemandUnits -= s.units;
  }

  private capacityChanged(group: string): void {
    const target = this.targets.get(group);
    const set = this.serving.get(group);
    if (target === undefined || !set) return;
    const now = Math.min(this.clock.nowMs(), this.end);
    const prev = this.last.get(group)!;
    const inService = sum(set);
    if (prev.inService === inService) return;
    this.gap += (Math.max(0, target - prev.inService) * Math.max(0, now - prev.since)) / 1000;
    this.total += inService - prev.inService;
    this.last.set(group, { inService, since: now });
    this.plot(now);
  }

  private plot(now: number): void {
    const b = Math.min(this.buckets.length - 1, Math.max(0, Math.floor((now - this.start) / this.width)));
    // The slices since the last change held the previous total throughout.
    for (let k = this.bucket; k <= b; k++) this.buckets[k] = Math.min(this.buckets[k]!, this.lastTotal);
    this.buckets[b] = Math.min(this.buckets[b]!, this.total);
    this.bucket = b;
    this.lastTotal = this.total;
  }

  /** Takes the point of every slice that started at or before `now` and has none yet. */
  private sampleUntil(now: number): void {
    const slices = this.buckets.length;
    while (this.points.desired.length < slices && this.start + this.points.desired.length * this.width <= now)
      this.sample();
  }

  private sample(): void {
    let desired = 0;
    for (const group of this.serving.keys()) desired += this.asg.groups.get(group)?.desired ?? 0;
    const spot = this.spotUnits;
    const onDemand = this.onDemandUnits;
    let standby = 0;
    let costPerSecond = 0;
    for (const inst of this.ec2.instances.values()) {
      if (inst.billingSince !== undefined) costPerSecond += this.price(inst.instanceType, inst.market);
      if (inst.tags[STANDBY_FOR_TAG] && inst.state !== 'terminated' && inst.state !== 'shutting-down')
        standby++;
    }
    const p = this.points;
    p.desired.push(desired);
    p.spot.push(spot);
    p.onDemand.push(onDemand);
    p.standby.push(standby);
    p.costPerHour.push(Math.round(costPerSecond * 3600 * 10_000) / 10_000);
  }

  private replaced(group: string): void {
    const q = this.pendingWarnings.get(group);
    if (!q || q.length === 0) return;
    const at = q.shift()!;
    this.replacements.push((this.clock.nowMs() - at) / 1000);
  }

  finish(): Measurements {
    const end = this.end;
    this.sampleUntil(end - 1);
    for (const [group, prev] of this.last) {
      const target = this.targets.get(group) ?? 0;
      this.gap += (Math.max(0, target - prev.inService) * Math.max(0, end - prev.since)) / 1000;
    }
    for (let k = this.bucket; k < this.buckets.length; k++)
      this.buckets[k] = Math.min(this.buckets[k]!, this.lastTotal);
    for (const inst of this.ec2.instances.values()) {
      if (inst.billingSince !== undefined)
        this.cost += ((end - inst.billingSince) / 1000) * this.price(inst.instanceType, inst.market);
    }
    let onDemandCost = 0;
    for (const [group, target] of this.targets) {
      const g = this.asg.groups.get(group);
      const type = g?.mixedInstancesPolicy?.overrides[0]?.instanceType ?? '';
      onDemandCost += target * ((end - this.start) / 1000) * this.price(type, 'on-demand');
    }
    let desiredTotal = 0;
    for (const t of this.targets.values()) desiredTotal += t;
    const timeline = this.buckets.map((b) => (b === Number.POSITIVE_INFINITY ? this.lastTotal : b));
    return {
      interruptions: this.interruptions,
      // No warning, nothing handled: null, never a 100 % that was not earned.
      handledBeforeDeadline: this.interruptions === 0 ? null : this.handled / this.interruptions,
      capacityGapInstanceSeconds: Math.round(this.gap),
      replacementSeconds: [...this.replacements],
      cost: this.cost,
      onDemandCost,
      timeline,
      desiredTotal,
      series: { stepSeconds: this.width / 1000, inService: timeline, ...this.points },
    };
  }
}

/** Starts measuring a region (call at the scenario start). */
export function recordRegion(region: SimRegion): Recorder {
  return new Recorder(
    region.clock,
    region.bus,
    region.asg,
    region.ec2,
    region.targets,
    region.scenario.prices,
    region.start,
    region.end,
  );
}

/** A serving member: the units it counts for, and whether it runs on Spot (an instance keeps its market). */
interface Serving {
  units: number;
  spot: boolean;
}

function sum(members: Map<string, Serving>): number {
  let n = 0;
  for (const m of members.values()) n += m.units;
  return n;
}
