import type { SimBus } from './bus.js';
import type { VirtualClock } from './clock.js';
import type { CapacitySource, Ec2State, SimInstance } from './ec2-state.js';
import { exponential, type Random } from './random.js';

// The Spot market. Each pool (instance type x AZ) reclaims instances at a hazard rate per hour; a storm
// reclaims a share of a pool within a short window; an outage makes Spot launches in its pools fail.
// A reclaim sends the 2-minute warning (optionally a rebalance recommendation earlier), then terminates
// the instance at the deadline, whatever anyone did with it meanwhile.
//
// Draws are keyed, not streamed: the k-th Spot instance of a pool has the same lifetime under every
// strategy, and a storm picks instances by a keyed score, so strategies face the same market.

export const WARNING_SECONDS = 120;

export interface HazardSpec {
  instanceType?: string;
  az?: string;
  perHour: number;
}

export interface StormSpec {
  name: string;
  at: number;
  instanceType?: string;
  az?: string;
  /** Share (0..1] of the pool's live Spot instances reclaimed. */
  share: number;
  withinSeconds: number;
}

export interface OutageSpec {
  name: string;
  from: number;
  to: number;
  az?: string;
  instanceTypes?: string[];
  /** Also no On-Demand capacity in those pools. */
  onDemand?: boolean;
}

export interface MarketSpec {
  defaultHazardPerHour: number;
  hazards: HazardSpec[];
  storms: StormSpec[];
  outages: OutageSpec[];
  /** Share of hazard reclaims preceded by a rebalance recommendation, and how long before. */
  rebalance?: { share: number; leadSeconds: number };
  /** Deliver EC2 Instance State-change Notifications (shutting-down, terminated) too. */
  stateChangeEvents?: boolean;
  /** No hazard before this (the warm-up that launches the initial fleet is calm). */
  start?: number;
}

export interface MarketEvents {
  warning(inst: SimInstance, at: Date): void;
  rebalance(inst: SimInstance, at: Date): void;
  stateChange(inst: SimInstance, state: string, at: Date): void;
}

const poolKey = (type: string, az: string) => `${type}|${az}`;

export class SpotMarket implements CapacitySource {
  /** pool → live Spot instance ids, in launch order. */
  private readonly pools = new Map<string, Set<string>>();
  private readonly ordinals = new Map<string, number>();
  private readonly poolLaunches = new Map<string, number>();
  reclaims = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    private readonly ec2: Ec2State,
    private readonly bus: SimBus,
    readonly spec: MarketSpec,
    private readonly events: MarketEvents,
    /** Nothing is scheduled past this (the end of the scenario). */
    private readonly horizon: number,
  ) {
    ec2.capacity = this;
    bus.on((e) => {
      if (e.type !== 'instance-state') return;
      const inst = ec2.get(e.instanceId);
      if (!inst) return;
      if (e.from === 'none' && inst.market === 'spot') this.track(inst);
      if (e.to === 'shutting-down' || e.to === 'terminated') {
        this.pools.get(poolKey(inst.instanceType, inst.availabilityZone))?.delete(inst.instanceId);
        if (e.to === 'terminated') this.ordinals.delete(inst.instanceId);
        if (spec.stateChangeEvents) events.stateChange(inst, e.to, clock.now());
      }
    });
    for (const s of spec.storms) if (s.at <= horizon) clock.at(s.at, () => this.storm(s));
    for (const o of spec.outages) {
      const azs = o.az ? [o.az] : ['all AZs'];
      clock.at(o.from, () => bus.emit({ type: 'outage', name: o.name, azs, active: true }));
      clock.at(o.to, () => bus.emit({ type: 'outage', name: o.name, azs, active: false }));
    }
  }

  hazardPerHour(type: string, az: string): number {
    let best: HazardSpec | undefined;
    let bestScore = -1;
    for (const h of this.spec.hazards) {
      if ((h.instanceType && h.instanceType !== type) || (h.az && h.az !== az)) continue;
      const score = (h.instanceType ? 2 : 0) + (h.az ? 1 : 0);
      if (score > bestScore) [best, bestScore] = [h, score];
    }
    return best?.perHour ?? this.spec.defaultHazardPerHour;
  }

  private outageNow(type: string, az: string, onDemand: boolean): boolean {
    const now = this.clock.nowMs();
    return this.spec.outages.some(
      (o) =>
        now >= o.from &&
        now < o.to &&
        (!o.az || o.az === az) &&
        (!o.instanceTypes || o.instanceTypes.includes(type)) &&
        (!onDemand || o.onDemand === true),
    );
  }

  spotAvailable(type: string, az: string): boolean {
    return !this.outageNow(type, az, false);
  }

  onDemandAvailable(type: string, az: string): boolean {
    return !this.outageNow(type, az, true);
  }

  private track(inst: SimInstance): void {
    const key = poolKey(inst.instanceType, inst.availabilityZone);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Set();
      this.pools.set(key, pool);
    }
    pool.add(inst.instanceId);
    const ordinal = (this.poolLaunches.get(key) ?? 0) + 1;
    this.poolLaunches.set(key, ordinal);
    this.ordinals.set(inst.instanceId, ordinal);
    const hours = exponential(
      this.random.keyed('hazard', key, ordinal),
      this.hazardPerHour(inst.instanceType, inst.availabilityZone),
    );
    const warnAt = Math.max(inst.launchTime, this.spec.start ?? 0) + hours * 3_600_000;
    if (warnAt > this.horizon) return;
    this.clock.at(warnAt, () => this.reclaim(inst));
    const rb = this.spec.rebalance;
    if (rb && this.random.keyed('rebalance', key, ordinal) < rb.share) {
      const at = warnAt - rb.leadSeconds * 1000;
      if (at > Math.max(inst.launchTime, this.spec.start ?? 0)) {
        this.clock.at(at, () => {
          if (inst.state === 'pending' || inst.state === 'running') {
            this.bus.emit({ type: 'rebalance', instanceId: inst.instanceId });
            this.events.rebalance(inst, this.clock.now());
          }
        });
      }
    }
  }

  /** Sends the 2-minute warning for `inst` and terminates it at the deadline. */
  reclaim(inst: SimInstance, storm?: string): void {
    if (inst.reclaimAt !== undefined || (inst.state !== 'pending' && inst.state !== 'running')) return;
    const now = this.clock.nowMs();
    inst.reclaimAt = now + WARNING_SECONDS * 1000;
    this.reclaims++;
    this.bus.emit({
      type: 'spot-warning',
      instanceId: inst.instanceId,
      az: inst.availabilityZone,
      instanceType: inst.instanceType,
      deadline: inst.reclaimAt,
      storm,
    });
    this.events.warning(inst, new Date(now));
    this.clock.at(inst.reclaimAt, () => this.ec2.terminate(inst));
  }

  private storm(s: StormSpec): void {
    const victims: { inst: SimInstance; score: number; key: string }[] = [];
    for (const [key, ids] of this.pools) {
      const [type, az] = key.split('|');
      if ((s.instanceType && s.instanceType !== type) || (s.az && s.az !== az)) continue;
      for (const id of ids) {
        const inst = this.ec2.get(id);
        if (!inst || inst.reclaimAt !== undefined) continue;
        const ordinal = this.ordinals.get(id) ?? 0;
        victims.push({
          inst,
          score: this.random.keyed('storm', s.name, key, ordinal),
          key: `${key}#${ordinal}`,
        });
      }
    }
    victims.sort((a, b) => a.score - b.score);
    const n = Math.ceil(victims.length * s.share);
    const pool = `${s.instanceType ?? 'every type'} in ${s.az ?? 'every AZ'}`;
    this.bus.emit({ type: 'storm', name: s.name, pool, instances: n });
    for (let i = 0; i < n; i++) {
      const { inst, key } = victims[i]!;
      const delay = this.random.keyed('storm-at', s.name, key) * s.withinSeconds * 1000;
      this.clock.after(delay, () => this.reclaim(inst, s.name));
    }
  }
}
