import type { Action } from '../domain/actions.js';
import { parseGroupSwap, SWAP_EXPIRY_MINUTES } from '../domain/swap-records.js';
import {
  STANDBY_CLAIMED_TAG,
  STANDBY_ERROR_TAG,
  STANDBY_FOR_TAG,
  STANDBY_SWAP_TAG,
  STANDBY_TEMPLATE_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
  STANDBY_UNSTARTABLE_TAG,
} from '../domain/tags.js';
import type { Instance } from '../domain/types.js';
import { type ManagedInput, type PlanPart, soonest } from './input.js';
import { formatMinutes, minutesBetween } from './members.js';
import {
  hibernationVerdict,
  launchPlacement,
  notReadyReason,
  type StandbyFacts,
  type StandbyOption,
} from './standby-launch.js';
import { planSwapSettlements } from './swap-settle.js';

// The standby pool (the seed's warm pool): `standby.size` stopped (or hibernated) On-Demand instances
// outside the group, built from its launch template and spread over its subnets and instance types.
// Native warm pools refuse Spot and mixed-instances groups, hence our own.

/** A claim the fast path never finished (started, then neither attached nor released) expires. */
export const CLAIM_EXPIRY_MINUTES = 10;
const GONE = new Set(['shutting-down', 'terminated']);

/** `i-interrupted@2026-11-22T15:00:00.000Z` → the claim time. */
export function parseClaim(value: string): { instanceId: string; at?: Date } {
  const [instanceId = '', at] = value.split('@');
  const when = at ? new Date(at) : undefined;
  return when && !Number.isNaN(when.getTime()) ? { instanceId, at: when } : { instanceId };
}

export function standbysOf(input: ManagedInput): Instance[] {
  return input.observation.standbys.filter(
    (s) => s.tags[STANDBY_FOR_TAG] === input.group.name && !GONE.has(s.state),
  );
}

/** Instance types of the MixedInstancesPolicy overrides, or none (the template's own type). */
export function standbyTypes(input: ManagedInput): string[] {
  const types =
    input.group.mixedInstancesPolicy?.overrides.map((o) => o.instanceType).filter((t): t is string => !!t) ??
    [];
  return [...new Set(types)];
}

/** Where each subnet is, as far as the observed instances tell. */
function subnetZones(input: ManagedInput): Map<string, string> {
  const zones = new Map<string, string>();
  for (const i of [...input.observation.instances.values(), ...input.observation.standbys]) {
    if (i.subnetId && !zones.has(i.subnetId)) zones.set(i.subnetId, i.availabilityZone);
  }
  return zones;
}

function leastUsed<T>(options: readonly T[], count: (o: T) => number): T | undefined {
  let best: T | undefined;
  let bestCount = Number.POSITIVE_INFINITY;
  for (const o of options) {
    const c = count(o);
    if (c < bestCount) {
      best = o;
      bestCount = c;
    }
  }
  return best;
}

/** A standby swap's MaxSize headroom the fast path did not give back (it died mid-swap): finish it. */
function planSwapRecord(input: ManagedInput, part: PlanPart, desired: number): void {
  const { group, now } = input;
  const value = group.tags.find((t) => t.key === STANDBY_SWAP_TAG)?.value;
  if (value === undefined) return;
  const record = parseGroupSwap(value);
  if (!record) {
    part.problems.push(
      `${STANDBY_SWAP_TAG}=${value} is not a swap record (max=<n> since=<time>); left alone`,
    );
    return;
  }
  const age = record.since ? minutesBetween(record.since, now) : Number.POSITIVE_INFINITY;
  if (age < SWAP_EXPIRY_MINUTES) {
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
    return;
  }
  // `desired` is the group's once the swaps' own take-backs (planned before this) are done.
  const over = desired > record.originalMax;
  part.actions.push({
    kind: 'standby-swap-restore',
    group: group.name,
    target: group.name,
    max: record.originalMax,
    ...(over ? { desired: record.originalMax } : {}),
    reason: `a standby swap raised MaxSize to ${group.max} ${record.since ? `${formatMinutes(age)} ago` : '(no time)'} and never gave it back: MaxSize back to ${record.originalMax}${over ? `, desired ${desired} → ${record.originalMax} (the interrupted instance was not detached with decrement)` : ''}`,
  });
}

export function planStandby(input: ManagedInput): PlanPart {
  const settlements = planSwapSettlements(input);
  const part = settlements.part;
  planSwapRecord(input, part, settlements.desired);
  const { group, settings, now } = input;
  const size = settings.standby.size;
  const memberIds = new Set(group.members.map((m) => m.instanceId));
  const all = standbysOf(input);
  const attached = group.members.some(
    (m) => input.observation.instances.get(m.instanceId)?.tags[STANDBY_FOR_TAG] !== undefined,
  );
  if (size === 0 && all.length === 0 && !attached) return part;

  const template = input.launchTemplate;
  if (!template && size > 0) {
    part.problems.push(
      `standby pool of ${size} cannot be kept: the group's launch template could not be resolved${group.launchConfigurationName ? ' (the group uses a launch configuration)' : ''}`,
    );
  }
  const lastError = group.tags.find((t) => t.key === STANDBY_ERROR_TAG)?.value;
  if (lastError)
    part.problems.push(`standby launches are failing (last: ${lastError}); spotmax retries every pass`);
  const wantHibernate = settings.standby.state === 'hibernated';
  const facts = input.standbyFacts;
  const options = template ? standbyOptions(input, facts) : [];
  const canHibernate = hibernationByOption(options, facts, wantHibernate, part);
  const hibernate = wantHibernate && !!template?.hibernationReady;
  if (!facts && wantHibernate && template && !template.hibernationReady) {
    part.problems.push(
      `standby.state is hibernated but launch template ${template.name ?? template.id} version ${template.version} is not hibernation-ready (hibernation configured and an encrypted root volume); standbys are stopped instead`,
    );
  }

  // Attached by the fast path, which could not clean up: members now, no longer standbys.
  for (const id of memberIds) {
    const i = input.observation.instances.get(id);
    if (i && i.tags[STANDBY_FOR_TAG] !== undefined && i.state !== 'terminated') {
      part.actions.push({
        kind: 'untag-resource',
        group: group.name,
        target: id,
        keys: [
          STANDBY_FOR_TAG,
          STANDBY_CLAIMED_TAG,
          STANDBY_TEMPLATE_VERSION_TAG,
          STANDBY_TEMPLATE_TAG,
          STANDBY_UNSTARTABLE_TAG,
        ],
        reason: `${id} is a member of the group now, no longer a standby`,
      });
    }
  }

  const usable: Instance[] = [];
  /** Type and AZ pairs StartInstances refused for lack of capacity: the replacement goes elsewhere. */
  const refused: { type: string; zone: string }[] = [];
  const templatesById = new Map(options.map((o) => [o.template.id, o.template]));
  for (const s of all) {
    const id = s.instanceId;
    if (memberIds.has(id)) continue;
    const unstartable = s.tags[STANDBY_UNSTARTABLE_TAG];
    if (unstartable !== undefined && s.tags[STANDBY_CLAIMED_TAG] === undefined) {
      refused.push({ type: s.instanceType, zone: s.availabilityZone });
      part.actions.push({
        kind: 'terminate-standby',
        group: group.name,
        target: id,
        reason: `standby ${id} (${s.instanceType} in ${s.availabilityZone}) could not be started (${unstartable}); replaced by another type or AZ`,
      });
      continue;
    }
    const claim = s.tags[STANDBY_CLAIMED_TAG];
    if (claim !== undefined) {
      const { instanceId, at } = parseClaim(claim);
      const age = at ? minutesBetween(at, now) : Number.POSITIVE_INFINITY;
      if (age >= CLAIM_EXPIRY_MINUTES) {
        part.actions.push({
          kind: 'terminate-standby',
          group: group.name,
          target: id,
          reason: `standby ${id} claimed for ${instanceId || 'an interruption'} ${at ? `${formatMinutes(age)} ago` : '(no time)'} and never attached`,
        });
      } else {
        part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
      }
      continue;
    }
    const version = Number(s.tags[STANDBY_TEMPLATE_VERSION_TAG]);
    const builtFrom = s.tags[STANDBY_TEMPLATE_TAG];
    const own = builtFrom ? templatesById.get(builtFrom) : template;
    if (template && facts && builtFrom && !own) {
      part.actions.push({
        kind: 'terminate-standby',
        group: group.name,
        target: id,
        reason: `stale standby ${id}: built from launch template ${builtFrom}, which the group no longer launches from`,
      });
      continue;
    }
    if (own && version !== own.version) {
      part.actions.push({
        kind: 'terminate-standby',
        group: group.name,
        target: id,
        reason: `stale standby ${id}: built from launch template version ${s.tags[STANDBY_TEMPLATE_VERSION_TAG] ?? '(unknown)'}, current ${own.version}`,
      });
      continue;
    }
    if (facts && s.imageId && facts.checkedImages.has(s.imageId)) {
      const image = facts.images.get(s.imageId);
      if (image?.state !== 'available') {
        part.actions.push({
          kind: 'terminate-standby',
          group: group.name,
          target: id,
          reason: `standby ${id} runs image ${s.imageId}, which is ${image ? image.state : 'gone (deregistered)'}; replaced`,
        });
        continue;
      }
    }
    usable.push(s);
  }

  // Keep the newest standbys; the rest is excess. Stopped ones are worth more than ones still booting.
  const rank = (i: Instance) => (i.state === 'stopped' ? 0 : 1);
  usable.sort((a, b) => rank(a) - rank(b) || b.launchTime.getTime() - a.launchTime.getTime());
  const keep = usable.slice(0, size);
  for (const extra of usable.slice(size)) {
    part.actions.push({
      kind: 'terminate-standby',
      group: group.name,
      target: extra.instanceId,
      reason: `excess standby ${extra.instanceId} (${usable.length} > standby.size ${size})`,
    });
  }
  for (const s of keep) {
    if (s.state === 'running' && facts) {
      // Never stopped mid-bootstrap: its status checks pass, or its bootstrap tags it ready.
      const readiness = settings.standby.readiness;
      const why = notReadyReason(s.tags, facts.statuses.get(s.instanceId), readiness.tag);
      if (why) {
        const age = (now.getTime() - s.launchTime.getTime()) / 1000;
        if (age >= readiness.timeoutSeconds) {
          part.actions.push({
            kind: 'terminate-standby',
            group: group.name,
            target: s.instanceId,
            reason: `standby ${s.instanceId} not ready ${Math.round(age)} s after launch (${why}; standby.readiness.timeoutSeconds ${readiness.timeoutSeconds}); replaced`,
          });
        } else part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 30);
        continue;
      }
      const hib = wantHibernate && s.hibernationConfigured === true;
      part.actions.push({
        kind: 'stop-standby',
        group: group.name,
        target: s.instanceId,
        hibernate: hib,
        reason: `standby ${s.instanceId} is ready (${readiness.tag ? `tagged ${readiness.tag}` : 'status checks ok'}); ${hib ? 'hibernate' : 'stop'} it`,
      });
    } else if (s.state === 'running') {
      const hib = hibernate && s.hibernationConfigured !== false;
      part.actions.push({
        kind: 'stop-standby',
        group: group.name,
        target: s.instanceId,
        hibernate: hib,
        reason: `standby ${s.instanceId} is running; ${hib ? 'hibernate' : 'stop'} it`,
      });
    } else if (s.state === 'pending' || s.state === 'stopping') {
      part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 20);
    }
  }

  const missing = size - keep.length;
  if (missing <= 0 || !template) return part;
  if (options.length === 0) {
    part.problems.push(`standby pool of ${size} cannot be kept: no instance type to launch standbys as`);
    return part;
  }
  const zones = subnetZones(input);
  const subnets = group.subnetIds;
  const placed: { subnet?: string; zone?: string; type?: string }[] = keep.map((s) => ({
    subnet: s.subnetId,
    zone: s.availabilityZone,
    type: s.instanceType,
  }));
  const typeOf = (o: StandbyOption) => o.instanceType ?? o.template.instanceType;
  const isRefused = (o: StandbyOption, zone: string | undefined) =>
    refused.some((r) => r.type === typeOf(o) && r.zone === zone);
  for (let n = 0; n < missing; n++) {
    // Least-used subnet (or AZ) first, then the least-used option there that StartInstances did not
    // refuse in that AZ; a place where every option was refused is tried last.
    const places: { subnet?: string; zone?: string }[] = subnets.length
      ? subnets.map((x) => ({ subnet: x, zone: zones.get(x) }))
      : group.availabilityZones.map((z) => ({ zone: z }));
    if (places.length === 0) places.push({});
    const used = (p: { subnet?: string; zone?: string }) =>
      placed.filter((q) => (p.subnet ? q.subnet === p.subnet : q.zone === p.zone)).length;
    const ordered = [...places].sort((a, b) => used(a) - used(b));
    let choice: { subnet?: string; zone?: string; option: StandbyOption } | undefined;
    for (const p of ordered) {
      const open = options.filter((o) => !isRefused(o, p.zone));
      const option = leastUsed(open, (o) => placed.filter((q) => q.type === typeOf(o)).length);
      if (option) {
        choice = { ...p, option };
        break;
      }
    }
    choice ??= { ...ordered[0], option: options[0]! };
    const { subnet, zone, option } = choice;
    const type = option.instanceType;
    placed.push({ subnet, zone, type: typeOf(option) });
    const tpl = option.template;
    const hib = facts ? canHibernate.get(option) === true : hibernate;
    const action: Action = {
      kind: 'launch-standby',
      group: group.name,
      target: group.name,
      launchTemplate: { id: tpl.id, version: String(tpl.version) },
      templateVersion: tpl.version,
      hibernate: hib,
      reason: `standby pool ${keep.length + n}/${size}: launch one${subnet ? ` in ${subnet}` : ''}${zone ? ` (${zone})` : ''}${type ? ` as ${type}` : ''}${tpl.id !== template.id ? ` from ${tpl.name ?? tpl.id} version ${tpl.version}` : ''}${tpl.spotMarket ? ' On-Demand (the template asks for Spot)' : ''}`,
    };
    const where = launchPlacement(tpl, subnet);
    if (where.subnetId) action.subnetId = where.subnetId;
    if (where.networkInterfaces) action.networkInterfaces = where.networkInterfaces;
    if (where.dropTemplateMarket) action.dropTemplateMarket = true;
    if (zone) action.availabilityZone = zone;
    if (type) action.instanceType = type;
    if (lastError) action.clearError = true;
    part.actions.push(action);
  }
  part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 30);
  return part;
}

/**
 * The (type, template) pairs standbys are launched as: what the reconciler read (overrides with their own
 * templates, attribute-based types), or without it the overrides' types on the group's template.
 */
function standbyOptions(input: ManagedInput, facts: StandbyFacts | undefined): StandbyOption[] {
  if (facts) return facts.options;
  const template = input.launchTemplate!;
  const types = standbyTypes(input);
  return types.length ? types.map((instanceType) => ({ instanceType, template })) : [{ template }];
}

/** Whether each option can hibernate; a problem says why not for the ones that cannot. */
function hibernationByOption(
  options: readonly StandbyOption[],
  facts: StandbyFacts | undefined,
  want: boolean,
  part: PlanPart,
): Map<StandbyOption, boolean> {
  const out = new Map<StandbyOption, boolean>();
  if (!want || !facts) return out;
  const reasons = new Map<string, string[]>();
  for (const o of options) {
    const type = o.instanceType ?? o.template.instanceType;
    const verdict = hibernationVerdict(
      o.template,
      o.template.imageId ? facts.images.get(o.template.imageId) : undefined,
      type ? facts.instanceTypes.get(type) : undefined,
    );
    out.set(o, verdict.ok);
    if (!verdict.ok)
      reasons.set(verdict.why, [...(reasons.get(verdict.why) ?? []), type ?? '(template type)']);
  }
  for (const [why, types] of reasons)
    part.problems.push(
      `standby.state is hibernated but ${types.join(', ')} cannot hibernate: ${why}; those standbys are stopped instead`,
    );
  return out;
}
