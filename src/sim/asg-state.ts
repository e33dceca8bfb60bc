import type { Group, MixedInstancesPolicy, ScalingActivity } from '../domain/types.js';
import { awsError } from './api.js';
import { describeGroup } from './asg-describe.js';
import { replacesInstances, surplusMarket, surplusVictim } from './asg-distribution.js';
import {
  type AsgHooks,
  type AsgTimings,
  DEFAULT_ASG_TIMINGS,
  LEAVING,
  MAX_ACTIVITIES,
  type PendingAction,
  type SimGroup,
  type SimHook,
  type SimMember,
} from './asg-model.js';
import { chooseLaunch, launchFailureMessage } from './asg-placement.js';
import { rebalanceMove, rebalanceSuspendedBy, rebalanceVictim } from './asg-rebalance.js';
import { activeRefresh, refreshBatch, refreshLeft, type SimRefresh } from './asg-refresh.js';
import { memberWeight, unitsOf, validateUnits } from './asg-units.js';
import type { SimBus } from './bus.js';
import type { TimerHandle, VirtualClock } from './clock.js';
import type { Ec2State, SimInstance } from './ec2-state.js';
import { deepFreeze } from './freeze.js';

export type { AsgHooks, AsgTimings, SimGroup, SimHook, SimMember };
export { DEFAULT_ASG_TIMINGS, memberWeight };

// Auto Scaling groups as the Auto Scaling documentation describes them: the group launches or
// terminates to keep its desired capacity, balances AZs, follows its MixedInstancesPolicy, replaces a
// member whose instance died (after a health check interval), detaches and attaches with or without a
// change of desired capacity, and holds instances in Pending:Wait / Terminating:Wait for lifecycle hooks.

export class AsgState {
  readonly groups = new Map<string, SimGroup>();
  /** instance id → group name, for members only. */
  readonly memberOf = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly ec2: Ec2State,
    private readonly bus: SimBus,
    private readonly hooks: AsgHooks,
    readonly timings: AsgTimings = DEFAULT_ASG_TIMINGS,
  ) {
    bus.on((e) => {
      if (e.type === 'instance-state') this.instanceChanged(e.instanceId, e.to);
      else if (e.type === 'rebalance') this.rebalanceRecommended(e.instanceId);
    });
  }

  /**
   * Capacity Rebalancing ("Capacity Rebalancing in Auto Scaling to replace at-risk Spot Instances"): on
   * a rebalance recommendation for a Spot member of a group with CapacityRebalance, the group launches
   * a replacement first (it may exceed MaxSize for it) and terminates the old member, through its
   * terminate hooks, once the new one has passed its health checks (InService). The old member no
   * longer counts toward desired capacity from the launch on.
   */
  private rebalanceRecommended(id: string): void {
    const g = this.groups.get(this.memberOf.get(id) ?? '');
    const m = g?.members.get(id);
    if (!g || !m || !g.capacityRebalance || m.market !== 'spot' || m.replacedBy) return;
    if (m.lifecycleState !== 'InService') return;
    const launched = this.launchOne(g);
    if (launched) m.replacedBy = launched;
  }

  /**
   * SetInstanceHealth Unhealthy, or a failed health check ("Health checks for instances in an Auto
   * Scaling group"): the group terminates the member and launches a new one to keep desired capacity.
   */
  setUnhealthy(
    id: string,
    cause = 'an instance was taken out of service in response to a user health-check.',
  ): void {
    const g = this.groups.get(this.memberOf.get(id) ?? '');
    const m = g?.members.get(id);
    if (!g || !m || LEAVING.has(m.lifecycleState)) return;
    m.healthStatus = 'Unhealthy';
    this.activity(
      g,
      'InProgress',
      `Terminating EC2 instance: ${id}`,
      `At ${this.clock.now().toISOString()} ${cause}`,
    );
    this.beginTermination(g, m);
  }

  createGroup(
    spec: Pick<
      SimGroup,
      'name' | 'min' | 'max' | 'desired' | 'launchTemplate' | 'mixedInstancesPolicy' | 'azs'
    > & {
      tags?: { key: string; value: string; propagateAtLaunch: boolean }[];
      hooks?: SimHook[];
      capacityRebalance?: boolean;
      suspendedProcesses?: string[];
      desiredCapacityType?: string;
      maxInstanceLifetime?: number;
    },
  ): SimGroup {
    validateUnits(spec);
    const g: SimGroup = {
      name: spec.name,
      min: spec.min,
      max: spec.max,
      desired: spec.desired,
      launchTemplate: spec.launchTemplate,
      mixedInstancesPolicy: spec.mixedInstancesPolicy,
      azs: [...spec.azs],
      tags: new Map(
        (spec.tags ?? []).map((t) => [t.key, { value: t.value, propagateAtLaunch: t.propagateAtLaunch }]),
      ),
      members: new Map(),
      activities: [],
      hooks: spec.hooks ?? [],
      createdTime: this.clock.nowMs(),
      capacityRebalance: spec.capacityRebalance ?? false,
      suspendedProcesses: new Set(spec.suspendedProcesses ?? []),
      ...(spec.desiredCapacityType ? { desiredCapacityType: spec.desiredCapacityType } : {}),
      ...(spec.maxInstanceLifetime ? { maxInstanceLifetime: spec.maxInstanceLifetime } : {}),
      inService: 0,
      checkScheduled: false,
    };
    this.groups.set(g.name, g);
    this.schedule(g, 0);
    return g;
  }

  mustGet(name: string): SimGroup {
    const g = this.groups.get(name);
    if (!g)
      throw awsError(
        'ValidationError',
        `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`,
      );
    return g;
  }

  /** Members that count toward desired capacity (not on their way out). */
  active(g: SimGroup): SimMember[] {
    const out: SimMember[] = [];
    for (const m of g.members.values()) if (!LEAVING.has(m.lifecycleState) && !m.replacedBy) out.push(m);
    return out;
  }

  /** Runs the group's capacity check `delayMs` from now, once however often it is asked for. */
  schedule(g: SimGroup, delayMs: number): void {
    if (g.checkScheduled) return;
    g.checkScheduled = true;
    const at = Math.max(this.clock.nowMs() + delayMs, g.retryAt ?? 0);
    this.clock.at(at, () => {
      g.checkScheduled = false;
      if (this.groups.get(g.name) === g) this.check(g);
    });
  }

  private check(g: SimGroup): void {
    // The instance an AZRebalance launched is extra until it has replaced one in the long AZ.
    const extra = g.rebalancing?.instanceId;
    const swap = g.distributionSwap?.instanceId;
    const active = this.active(g).filter((m) => m.instanceId !== extra && m.instanceId !== swap);
    // Desired capacity counts units (sim/asg-units.ts): 1 a member, or its weight in a weighted group.
    const units = unitsOf(active);
    if (units < g.desired) {
      // "Suspend and resume Amazon EC2 Auto Scaling processes": with Launch suspended the group does not
      // launch, so a member detached without decrement or lost is not replaced until Launch resumes.
      if (g.suspendedProcesses.has('Launch')) return;
      // Until the desired units are fulfilled, even with an overage ("Configure ... instance weights").
      for (let have = units; have < g.desired; ) {
        const id = this.launchOne(g);
        if (!id) break;
        have += g.members.get(id)?.weight ?? 1;
      }
      return;
    }
    // A surplus smaller than any member's weight is the overage of a weighted launch: it stays.
    if (units > g.desired && this.scaleIn(g, active, units - g.desired)) return;
    if (this.refreshStep(g, active)) return;
    if (!this.replaceForDistribution(g, active)) this.rebalance(g, active);
  }

  /**
   * StartInstanceRefresh (sim/asg-refresh.ts): every member launched before now is replaced, a batch at
   * a time. Refused while another refresh is Pending or InProgress, as Auto Scaling refuses it.
   */
  startInstanceRefresh(name: string, minHealthyPercentage = 90): string {
    const g = this.mustGet(name);
    if (activeRefresh(g))
      throw awsError(
        'InstanceRefreshInProgress',
        `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`,
      );
    const id = `${this.ec2.hex(`refresh:${++this.seq}`, 8)}-0000-4000-8000-${this.seq.toString(16).padStart(12, '0')}`;
    const r: SimRefresh = {
      id,
      status: 'Pending',
      startTime: this.clock.now(),
      startedAtMs: this.clock.nowMs(),
      minHealthyPercentage,
      total: this.active(g).length,
      percentageComplete: 0,
      instancesToUpdate: this.active(g).length,
    };
    g.refreshes = [r, ...(g.refreshes ?? [])].slice(0, 10);
    this.schedule(g, 0);
    return id;
  }

  /** One step of the group's refresh when it is settled; true while the refresh is busy. */
  private refreshStep(g: SimGroup, active: SimMember[]): boolean {
    const r = activeRefresh(g);
    if (!r) return false;
    r.status = 'InProgress';
    const left = refreshLeft(r, active);
    r.instancesToUpdate = left.length;
    r.percentageComplete = r.total === 0 ? 100 : Math.floor(((r.total - left.length) * 100) / r.total);
    if (left.length === 0) {
      Object.assign(r, { status: 'Successful', percentageComplete: 100, endTime: this.clock.now() });
      return false;
    }
    // The next batch only once the group is back at its desired capacity with every member serving.
    if (active.some((m) => m.lifecycleState !== 'InService')) return true;
    for (const m of left.slice(0, refreshBatch(r, active.length))) {
      this.activity(
        g,
        'InProgress',
        `Terminating EC2 instance: ${m.instanceId}`,
        `At ${this.clock.now().toISOString()} an instance was taken out of service in response to an instance refresh.`,
      );
      this.beginTermination(g, m);
    }
    return true;
  }

  /**
   * After a change of the On-Demand base or percentage (sim/asg-distribution.ts): one member at a time,
   * launch one of the missing market, and terminate one of the surplus once it serves. True while busy.
   */
  private replaceForDistribution(g: SimGroup, active: SimMember[]): boolean {
    if (!g.distributionChanged) return false;
    if (g.distributionSwap) return true;
    const surplus = surplusMarket(g, active);
    if (!surplus) {
      g.distributionChanged = active.some((m) => m.lifecycleState !== 'InService') || undefined;
      return false;
    }
    const id = this.launchOne(g);
    if (id) g.distributionSwap = { instanceId: id, surplus };
    return true;
  }

  private finishDistributionSwap(g: SimGroup, instanceId: string, serving: boolean): void {
    const swap = g.distributionSwap;
    if (!swap || swap.instanceId !== instanceId) return;
    g.distributionSwap = undefined;
    // The new member counts for the AZ balance; it is of the other market, so never the victim.
    const victim = serving ? surplusVictim(this.active(g), swap.surplus) : undefined;
    if (victim) {
      this.activity(
        g,
        'InProgress',
        `Terminating EC2 instance: ${victim.instanceId}`,
        `an instance was taken out of service to adjust the On-Demand and Spot levels to the group's instances distribution (${instanceId} replaces it)`,
      );
      this.beginTermination(g, victim);
    }
    this.schedule(g, 0);
  }

  /** AZRebalance (sim/asg-rebalance.ts): launch in the short AZ; the long AZ loses one once it serves. */
  private rebalance(g: SimGroup, active: SimMember[]): void {
    if (g.rebalancing || rebalanceSuspendedBy(g)) return;
    if ((g.rebalanceRetryAt ?? 0) > this.clock.nowMs()) return;
    const move = rebalanceMove(g, active);
    if (!move) return;
    const id = this.launchOne(g, move.shortAz);
    if (id) g.rebalancing = { instanceId: id, longAz: move.longAz };
    else g.rebalanceRetryAt = this.clock.nowMs() + this.timings.launchRetrySeconds * 1000;
  }

  /** The rebalancing instance serves: terminate one in the long AZ (or give up when it is gone). */
  private finishRebalance(g: SimGroup, instanceId: string, serving: boolean): void {
    const r = g.rebalancing;
    if (!r || r.instanceId !== instanceId) return;
    g.rebalancing = undefined;
    if (!serving) return;
    const victim = rebalanceVictim(
      this.active(g).filter((m) => m.instanceId !== instanceId),
      r.longAz,
    );
    if (!victim) return;
    this.activity(
      g,
      'InProgress',
      `Terminating EC2 instance: ${victim.instanceId}`,
      `an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${g.desired + 1} to ${g.desired}; rebalancing the Availability Zones (${r.longAz})`,
    );
    this.beginTermination(g, victim);
  }

  private activity(
    g: SimGroup,
    statusCode: string,
    description: string,
    statusMessage?: string,
  ): ScalingActivity {
    const now = this.clock.now();
    const a: ScalingActivity = {
      activityId: `${this.ec2.hex(`act:${++this.seq}`, 8)}-${this.seq.toString(16).padStart(4, '0')}-0000-0000-000000000000`,
      groupName: g.name,
      statusCode,
      statusMessage,
      description,
      startTime: now,
      endTime: statusCode === 'InProgress' ? undefined : now,
    };
    g.activities.unshift(a);
    if (g.activities.length > MAX_ACTIVITIES) g.activities.length = MAX_ACTIVITIES;
    return a;
  }

  /**
   * Launches one member; returns its id. `onlyAz` (AZRebalance) launches there or not at all, and a
   * missing capacity there is no failed launch activity: the group is at its desired capacity.
   */
  private launchOne(g: SimGroup, onlyAz?: string): string | undefined {
    const ref = g.mixedInstancesPolicy?.launchTemplate ?? g.launchTemplate;
    if (!ref) return undefined;
    let resolved: ReturnType<Ec2State['resolveTemplate']>;
    try {
      resolved = this.ec2.resolveTemplate(ref);
    } catch (err) {
      if (onlyAz) return undefined;
      this.fail(g, `${(err as Error).message}. Launching EC2 instance failed.`);
      return undefined;
    }
    const active = this.active(g);
    const where = onlyAz ? { ...g, azs: [onlyAz] } : g;
    const choice = chooseLaunch(where, active, resolved.version.instanceType, (type, az, market) =>
      market === 'spot'
        ? this.ec2.capacity.spotAvailable(type, az)
        : this.ec2.capacity.onDemandAvailable(type, az),
    );
    if (!choice) {
      if (onlyAz) return undefined;
      this.fail(g, launchFailureMessage(where, active, resolved.version.instanceType));
      return undefined;
    }
    const tags: Record<string, string> = { 'aws:autoscaling:groupName': g.name };
    for (const [k, t] of g.tags) if (t.propagateAtLaunch) tags[k] = t.value;
    const inst = this.ec2.launch({
      ...resolved,
      instanceType: choice.instanceType,
      az: choice.az,
      market: choice.market,
      tags,
    });
    this.addMember(g, inst, 'Pending');
    const a = this.activity(g, 'Successful', `Launching a new EC2 instance: ${inst.instanceId}`);
    a.statusMessage = `${choice.market === 'spot' ? 'Spot' : 'On-Demand'} ${choice.instanceType} in ${choice.az}${onlyAz ? ' (rebalancing the Availability Zones)' : ''}`;
    g.retryAt = undefined;
    return inst.instanceId;
  }

  private fail(g: SimGroup, message: string): void {
    // As DescribeScalingActivities shows a failed launch: the reason in StatusMessage, repeated in the
    // Description ("Troubleshoot Amazon EC2 Auto Scaling: EC2 instance launch failures").
    this.activity(g, 'Failed', `Launching a new EC2 instance.  Status Reason: ${message}`, message);
    this.bus.emit({ type: 'launch-failed', group: g.name, message });
    g.retryAt = this.clock.nowMs() + this.timings.launchRetrySeconds * 1000;
    this.schedule(g, 0);
  }

  private addMember(g: SimGroup, inst: SimInstance, state: string): SimMember {
    const m: SimMember = {
      instanceId: inst.instanceId,
      az: inst.availabilityZone,
      instanceType: inst.instanceType,
      market: inst.market,
      lifecycleState: state,
      healthStatus: 'Healthy',
      launchTemplate: inst.launchTemplate,
      protectedFromScaleIn: false,
      weight: memberWeight(g, inst.instanceType),
      launchedAt: inst.launchTime,
    };
    g.members.set(inst.instanceId, m);
    g.snapshot = undefined;
    this.memberOf.set(inst.instanceId, g.name);
    this.bus.emit({ type: 'member-state', group: g.name, instanceId: m.instanceId, state, az: m.az });
    return m;
  }

  setMemberState(g: SimGroup, m: SimMember, state: string): void {
    const was = m.lifecycleState === 'InService';
    m.lifecycleState = state;
    g.snapshot = undefined;
    const is = state === 'InService';
    if (was !== is) g.inService += is ? 1 : -1;
    this.bus.emit({ type: 'member-state', group: g.name, instanceId: m.instanceId, state, az: m.az });
    if (is || LEAVING.has(state)) this.finishCapacityRebalance(g, m.instanceId, is);
    if (g.rebalancing?.instanceId === m.instanceId && (is || LEAVING.has(state)))
      this.finishRebalance(g, m.instanceId, is);
    if (g.distributionSwap?.instanceId === m.instanceId && (is || LEAVING.has(state)))
      this.finishDistributionSwap(g, m.instanceId, is);
    // A group that has just settled may be uneven (AZRebalance looks at settled groups only).
    if (is && g.azs.length > 1 && g.inService >= g.desired) this.schedule(g, 0);
    // An instance refresh goes on with its next batch once the group serves again.
    else if (is && activeRefresh(g)) this.schedule(g, 0);
  }

  /** A Capacity Rebalancing replacement serves (the old member goes) or failed (the old one counts again). */
  private finishCapacityRebalance(g: SimGroup, newId: string, serving: boolean): void {
    for (const old of g.members.values()) {
      if (old.replacedBy !== newId) continue;
      old.replacedBy = undefined;
      if (!serving || LEAVING.has(old.lifecycleState)) continue;
      this.activity(
        g,
        'InProgress',
        `Terminating EC2 instance: ${old.instanceId}`,
        `At ${this.clock.now().toISOString()} an instance was taken out of service in response to an EC2 instance rebalance recommendation.`,
      );
      // Counted as leaving from here on, so the group does not launch for it.
      old.replacedBy = newId;
      this.beginTermination(g, old);
    }
  }

  private removeMember(g: SimGroup, m: SimMember, why: 'detached' | 'terminated'): void {
    if (m.lifecycleState === 'InService') g.inService--;
    if (g.rebalancing?.instanceId === m.instanceId) g.rebalancing = undefined;
    if (g.distributionSwap?.instanceId === m.instanceId) g.distributionSwap = undefined;
    this.dropActions(m);
    g.members.delete(m.instanceId);
    g.snapshot = undefined;
    this.memberOf.delete(m.instanceId);
    this.bus.emit({ type: 'member-removed', group: g.name, instanceId: m.instanceId, why });
    this.schedule(g, 0);
  }

  private instanceChanged(id: string, to: string): void {
    const name = this.memberOf.get(id);
    if (!name) return;
    const g = this.groups.get(name)!;
    const m = g.members.get(id)!;
    if (to === 'running' && m.lifecycleState === 'Pending') this.enterService(g, m);
    else if (
      to === 'terminated' &&
      (m.lifecycleState === 'Terminating' || m.lifecycleState === 'Terminating:Proceed')
    ) {
      this.removeMember(g, m, 'terminated');
    } else if (
      (to === 'shutting-down' || to === 'terminated' || to === 'stopping' || to === 'stopped') &&
      !LEAVING.has(m.lifecycleState)
    ) {
      // Not the group's doing (a Spot reclaim, a user): the next health check finds it and replaces it.
      this.clock.after(this.timings.healthCheckSeconds * 1000, () => {
        if (g.members.get(id) !== m || LEAVING.has(m.lifecycleState)) return;
        m.healthStatus = 'Unhealthy';
        g.snapshot = undefined;
        this.activity(
          g,
          'InProgress',
          `Terminating EC2 instance: ${id}`,
          `At ${this.clock.now().toISOString()} an instance was taken out of service in response to an EC2 instance status check failure.`,
        );
        this.beginTermination(g, m);
      });
    } else if (to === 'terminated' && m.lifecycleState === 'Terminating:Wait') {
      // The instance is gone while a hook waited: nothing left to wait for.
      this.removeMember(g, m, 'terminated');
    }
  }

  /** Launched and running: through every launch hook, then InService. */
  enterService(g: SimGroup, m: SimMember): void {
    const hooks = g.hooks.filter((h) => h.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING');
    if (hooks.length > 0) this.wait(g, m, hooks, 'Pending:Wait');
    else this.setMemberState(g, m, 'InService');
  }

  private beginTermination(g: SimGroup, m: SimMember): void {
    this.dropActions(m);
    const hooks = g.hooks.filter((h) => h.transition === 'autoscaling:EC2_INSTANCE_TERMINATING');
    const inst = this.ec2.get(m.instanceId);
    if (hooks.length > 0 && inst && inst.state !== 'terminated') {
      this.wait(g, m, hooks, 'Terminating:Wait');
    } else {
      this.setMemberState(g, m, 'Terminating');
      this.proceedTermination(g, m);
    }
    this.schedule(g, 0);
  }

  private proceedTermination(g: SimGroup, m: SimMember): void {
    const inst = this.ec2.get(m.instanceId);
    if (!inst || inst.state === 'terminated') this.removeMember(g, m, 'terminated');
    else this.ec2.terminate(inst);
  }

  /**
   * The member waits on every hook of the transition at once, each with its own token and event ("Amazon
   * EC2 Auto Scaling lifecycle hooks"): hooks of several owners (CodeDeploy, spotmax, another handler)
   * each get theirs, and the member goes on only when all are done.
   */
  private wait(g: SimGroup, m: SimMember, hooks: SimHook[], state: string): void {
    this.setMemberState(g, m, state);
    m.actions = hooks.map((hook) => {
      const token = `${this.ec2.hex(`tok:${++this.seq}`, 8)}-0000-4000-8000-${this.seq.toString(16).padStart(12, '0')}`;
      const action: PendingAction = { hook, token, timer: undefined as unknown as TimerHandle };
      action.timer = this.hookTimer(g, m, action);
      return action;
    });
    for (const a of m.actions) {
      this.hooks.lifecycleEvent({
        groupName: g.name,
        hookName: a.hook.name,
        instanceId: m.instanceId,
        token: a.token,
        transition: a.hook.transition,
      });
    }
  }

  private dropActions(m: SimMember): void {
    for (const a of m.actions ?? []) a.timer.cancel();
    m.actions = undefined;
  }

  private hookTimer(g: SimGroup, m: SimMember, action: PendingAction): TimerHandle {
    return this.clock.after(action.hook.heartbeatTimeoutSeconds * 1000, () =>
      this.finishAction(g, m, action, action.hook.defaultResult),
    );
  }

  private findAction(
    groupName: string,
    hookName: string,
    instanceId: string,
    token?: string,
  ): [SimGroup, SimMember, PendingAction] {
    const g = this.mustGet(groupName);
    const m = g.members.get(instanceId);
    const action = m?.actions?.find((a) => a.hook.name === hookName && (!token || token === a.token));
    if (!m || !action) {
      throw awsError('ValidationError', `No active Lifecycle Action found with instance ID ${instanceId}`);
    }
    return [g, m, action];
  }

  complete(
    groupName: string,
    hookName: string,
    instanceId: string,
    token: string | undefined,
    result: 'CONTINUE' | 'ABANDON',
  ): void {
    const [g, m, action] = this.findAction(groupName, hookName, instanceId, token);
    this.finishAction(g, m, action, result);
  }

  heartbeat(groupName: string, hookName: string, instanceId: string, token: string | undefined): void {
    const [g, m, action] = this.findAction(groupName, hookName, instanceId, token);
    action.timer.cancel();
    action.timer = this.hookTimer(g, m, action);
  }

  /**
   * One hook's action ends. "Complete a lifecycle action in an Auto Scaling group": CONTINUE lets the
   * other hooks of the transition finish; ABANDON stops them (a launching instance is then terminated, a
   * terminating one goes on to terminate).
   */
  private finishAction(
    g: SimGroup,
    m: SimMember,
    action: PendingAction,
    result: 'CONTINUE' | 'ABANDON',
  ): void {
    if (!m.actions?.includes(action) || g.members.get(m.instanceId) !== m) return;
    action.timer.cancel();
    m.actions = m.actions.filter((a) => a !== action);
    if (result === 'CONTINUE' && m.actions.length > 0) return;
    this.dropActions(m);
    if (action.hook.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING') {
      if (result === 'CONTINUE') this.setMemberState(g, m, 'InService');
      else this.beginTermination(g, m);
    } else {
      this.setMemberState(g, m, 'Terminating:Proceed');
      this.proceedTermination(g, m);
    }
  }

  /**
   * Takes `surplus` units away; true when it terminated any. A member whose weight is more than what is
   * left of the surplus stays: scale-in never takes a weighted group below its desired units (the
   * overage of a launch is kept, "Configure an Auto Scaling group to use instance weights").
   */
  private scaleIn(g: SimGroup, active: SimMember[], surplus: number): boolean {
    // Default termination policy, simplified: the AZ with the most members first, then the oldest.
    let left = surplus;
    let any = false;
    const candidates = active.filter((m) => !m.protectedFromScaleIn && m.weight <= left);
    while (left > 0 && candidates.length > 0) {
      const perAz = new Map<string, number>();
      for (const m of candidates) perAz.set(m.az, (perAz.get(m.az) ?? 0) + 1);
      let best = 0;
      for (let j = 1; j < candidates.length; j++) {
        const a = candidates[j]!;
        const b = candidates[best]!;
        const byAz = (perAz.get(a.az) ?? 0) - (perAz.get(b.az) ?? 0);
        if (byAz > 0 || (byAz === 0 && a.launchedAt < b.launchedAt)) best = j;
      }
      const [victim] = candidates.splice(best, 1);
      left -= victim!.weight;
      any = true;
      for (let j = candidates.length - 1; j >= 0; j--)
        if (candidates[j]!.weight > left) candidates.splice(j, 1);
      this.activity(
        g,
        'InProgress',
        `Terminating EC2 instance: ${victim!.instanceId}`,
        'a user request changed the desired capacity',
      );
      this.beginTermination(g, victim!);
    }
    return any;
  }

  /**
   * TerminateInstanceInAutoScalingGroup: the member goes through the terminate hooks; without decrement
   * the group launches a replacement, with it the desired capacity drops (not below min).
   */
  terminateInGroup(instanceId: string, decrement: boolean): void {
    const name = this.memberOf.get(instanceId);
    if (!name)
      throw awsError(
        'ValidationError',
        `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
      );
    const g = this.groups.get(name)!;
    const m = g.members.get(instanceId)!;
    if (LEAVING.has(m.lifecycleState)) return;
    if (decrement && g.desired - m.weight < g.min) {
      throw awsError(
        'ValidationError',
        `Currently, desired capacity equals minimum size (${g.min}) of ${name}: cannot decrement.`,
      );
    }
    if (decrement) g.desired -= m.weight;
    this.activity(
      g,
      'InProgress',
      `Terminating EC2 instance: ${instanceId}`,
      'a user request terminated the instance',
    );
    this.beginTermination(g, m);
  }

  detach(groupName: string, ids: string[], decrement: boolean): void {
    const g = this.mustGet(groupName);
    if (ids.length > 20)
      throw awsError('ValidationError', 'The number of instances to detach must not exceed 20');
    for (const id of ids) {
      const m = g.members.get(id);
      if (!m)
        throw awsError(
          'ValidationError',
          `The instance ${id} is not part of Auto Scaling group ${groupName}.`,
        );
      if (m.lifecycleState !== 'InService' && m.lifecycleState !== 'Standby') {
        throw awsError('ValidationError', `The instance ${id} is not in InService or Standby.`);
      }
    }
    // DetachInstances API reference: with ShouldDecrementDesiredCapacity the new desired capacity may not
    // go below MinSize (a group at min = desired cannot give up a member that way). In a weighted group
    // desired and MinSize are units, so the decrement is the members' weight (sim/asg-units.ts).
    const units = unitsOf(ids.map((id) => g.members.get(id)!));
    if (decrement && g.desired - units < g.min) {
      throw awsError(
        'ValidationError',
        `Detaching ${ids.length} instance(s) with decrement would take desired capacity below the group's minimum size ${g.min}.`,
      );
    }
    if (decrement) g.desired -= units;
    g.snapshot = undefined;
    for (const id of ids) {
      const m = g.members.get(id)!;
      this.activity(g, 'InProgress', `Detaching EC2 instance: ${id}`);
      this.setMemberState(g, m, 'Detaching');
      this.ec2.removeTags(id, ['aws:autoscaling:groupName']);
      this.clock.after(this.timings.detachSeconds * 1000, () => {
        if (g.members.get(id) === m) this.removeMember(g, m, 'detached');
      });
    }
    this.bus.emit({ type: 'detach', group: g.name, instanceIds: ids, decrement });
    this.schedule(g, 0);
  }

  attach(groupName: string, ids: string[]): void {
    const g = this.mustGet(groupName);
    if (ids.length > 20)
      throw awsError('ValidationError', 'The number of instances to attach must not exceed 20');
    const insts = ids.map((id) => {
      const inst = this.ec2.get(id);
      if (!inst || inst.state === 'terminated')
        throw awsError('ValidationError', `Instance ${id} is not in correct state. Instance does not exist.`);
      if (inst.state !== 'running')
        throw awsError(
          'ValidationError',
          `Instance ${id} is not in correct state. It is ${inst.state}, not running.`,
        );
      if (this.memberOf.has(id))
        throw awsError('ValidationError', `The instance ${id} is already part of an Auto Scaling group.`);
      if (!g.azs.includes(inst.availabilityZone)) {
        throw awsError(
          'ValidationError',
          `Instance ${id} is in ${inst.availabilityZone}, which is not an Availability Zone of ${groupName}.`,
        );
      }
      return inst;
    });
    // AttachInstances API reference: desired capacity rises by the number attached, and may not exceed
    // MaxSize (a group at max = desired takes no instance until MaxSize is raised). In a weighted group
    // desired and MaxSize are units, so each attached instance adds its weight (sim/asg-units.ts).
    let units = 0;
    for (const inst of insts) units += memberWeight(g, inst.instanceType);
    if (g.desired + units > g.max) {
      throw awsError(
        'ValidationError',
        `New SetDesiredCapacity value ${g.desired + units} is above max value ${g.max} for the AutoScalingGroup.`,
      );
    }
    g.desired += units;
    g.snapshot = undefined;
    for (const inst of insts) {
      this.ec2.setTags(inst.instanceId, { 'aws:autoscaling:groupName': g.name });
      const m = this.addMember(g, inst, 'Pending');
      this.activity(g, 'Successful', `Attaching an existing EC2 instance: ${inst.instanceId}`);
      this.clock.after(this.timings.attachSeconds * 1000, () => {
        // "Amazon EC2 Auto Scaling lifecycle hooks" (Lifecycle hook availability): launch and terminate
        // hooks do not apply when instances are attached or detached, so an attached instance goes
        // straight to InService; whatever a launch hook would have prepared, the attacher must do.
        if (
          g.members.get(inst.instanceId) === m &&
          m.lifecycleState === 'Pending' &&
          inst.state === 'running'
        )
          this.setMemberState(g, m, 'InService');
      });
    }
    this.bus.emit({ type: 'attach', group: g.name, instanceIds: ids });
    this.schedule(g, 0);
  }

  update(
    name: string,
    u: {
      desired?: number;
      min?: number;
      max?: number;
      /** As Terraform or the console sends it: the fields given replace those of the group's policy. */
      instancesDistribution?: Partial<MixedInstancesPolicy['instancesDistribution']>;
    },
  ): void {
    const g = this.mustGet(name);
    const min = u.min ?? g.min;
    const max = u.max ?? g.max;
    let desired = u.desired ?? g.desired;
    if (min > max)
      throw awsError(
        'ValidationError',
        `Max bound, ${max}, must be greater than or equal to min bound, ${min}`,
      );
    // Changing min or max alone moves desired inside the new bounds, as Auto Scaling does.
    if (u.desired === undefined) desired = Math.min(max, Math.max(min, desired));
    if (desired < min || desired > max) {
      throw awsError(
        'ValidationError',
        `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
      );
    }
    Object.assign(g, { min, max, desired, snapshot: undefined });
    // UpdateAutoScalingGroup API reference: "Any properties that you don't specify are not changed".
    if (u.instancesDistribution) {
      const before = g.mixedInstancesPolicy;
      if (!before)
        throw awsError(
          'ValidationError',
          `${name} has no MixedInstancesPolicy to change the distribution of`,
        );
      const after = {
        ...before,
        instancesDistribution: { ...before.instancesDistribution, ...u.instancesDistribution },
      };
      g.mixedInstancesPolicy = after;
      if (replacesInstances(before, after)) g.distributionChanged = true;
    }
    this.bus.emit({ type: 'group-updated', group: name, detail: Object.keys(u).join(', ') });
    this.schedule(g, 0);
  }

  /**
   * The group as DescribeAutoScalingGroups reports it. Frozen and reused until the group changes, so a
   * reconcile pass over thousands of members does not copy them all each time.
   */
  toGroup(g: SimGroup): Group {
    g.snapshot ??= deepFreeze(describeGroup(g, this.ec2));
    return g.snapshot;
  }
}
