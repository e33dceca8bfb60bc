import type { Action } from '../domain/actions.js';
import {
  STANDBY_CLAIMED_TAG,
  STANDBY_ERROR_TAG,
  STANDBY_FOR_TAG,
  STANDBY_SWAP_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
} from '../domain/tags.js';
import type { Instance } from '../domain/types.js';
import { emptyPart, type ManagedInput, type PlanPart, soonest } from './input.js';
import { formatMinutes, minutesBetween } from './members.js';

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

/** A swap raises MaxSize for at most the two-minute warning; a record this old was left by a crash. */
export const SWAP_EXPIRY_MINUTES = 10;

/**
 * `max=<n> since=<iso>` (controllers/reconcile/standby-swap.ts writes it); parsed here too because the
 * planner imports no controller.
 */
function swapRecord(value: string): { originalMax: number; since?: Date } | undefined {
  const max = value.match(/(?:^|\s)max=(\d+)(?:\s|$)/);
  if (!max) return undefined;
  const since = new Date(value.match(/(?:^|\s)since=(\S+)/)?.[1] ?? '');
  return { originalMax: Number(max[1]), ...(Number.isNaN(since.getTime()) ? {} : { since }) };
}

/** A standby swap's MaxSize headroom the fast path did not give back (it died mid-swap): finish it. */
function planSwapRecord(input: ManagedInput, part: PlanPart): void {
  const { group, now } = input;
  const value = group.tags.find((t) => t.key === STANDBY_SWAP_TAG)?.value;
  if (value === undefined) return;
  const record = swapRecord(value);
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
  const over = group.desired > record.originalMax;
  part.actions.push({
    kind: 'standby-swap-restore',
    group: group.name,
    target: group.name,
    max: record.originalMax,
    ...(over ? { desired: record.originalMax } : {}),
    reason: `a standby swap raised MaxSize to ${group.max} ${record.since ? `${formatMinutes(age)} ago` : '(no time)'} and never gave it back: MaxSize back to ${record.originalMax}${over ? `, desired ${group.desired} → ${record.originalMax} (the interrupted instance was not detached with decrement)` : ''}`,
  });
}

export function planStandby(input: ManagedInput): PlanPart {
  const part = emptyPart();
  planSwapRecord(input, part);
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
  const hibernate = wantHibernate && !!template?.hibernationReady;
  if (wantHibernate && template && !template.hibernationReady) {
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
        keys: [STANDBY_FOR_TAG, STANDBY_CLAIMED_TAG, STANDBY_TEMPLATE_VERSION_TAG],
        reason: `${id} is a member of the group now, no longer a standby`,
      });
    }
  }

  const usable: Instance[] = [];
  for (const s of all) {
    const id = s.instanceId;
    if (memberIds.has(id)) continue;
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
    if (template && version !== template.version) {
      part.actions.push({
        kind: 'terminate-standby',
        group: group.name,
        target: id,
        reason: `stale standby ${id}: built from launch template version ${s.tags[STANDBY_TEMPLATE_VERSION_TAG] ?? '(unknown)'}, current ${template.version}`,
      });
      continue;
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
    if (s.state === 'running') {
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
  const zones = subnetZones(input);
  const subnets = group.subnetIds;
  const types = standbyTypes(input);
  const placed: { subnet?: string; zone?: string; type?: string }[] = keep.map((s) => ({
    subnet: s.subnetId,
    zone: s.availabilityZone,
    type: s.instanceType,
  }));
  for (let n = 0; n < missing; n++) {
    const subnet = leastUsed(subnets, (x) => placed.filter((p) => p.subnet === x).length);
    const zone = subnet
      ? zones.get(subnet)
      : leastUsed(group.availabilityZones, (z) => placed.filter((p) => p.zone === z).length);
    const type = leastUsed(types, (t) => placed.filter((p) => p.type === t).length);
    placed.push({ subnet, zone, type });
    const action: Action = {
      kind: 'launch-standby',
      group: group.name,
      target: group.name,
      launchTemplate: { id: template.id, version: String(template.version) },
      templateVersion: template.version,
      hibernate,
      reason: `standby pool ${keep.length + n}/${size}: launch one${subnet ? ` in ${subnet}` : ''}${zone ? ` (${zone})` : ''}${type ? ` as ${type}` : ''}`,
    };
    if (subnet) action.subnetId = subnet;
    if (zone) action.availabilityZone = zone;
    if (type) action.instanceType = type;
    if (lastError) action.clearError = true;
    part.actions.push(action);
  }
  part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 30);
  return part;
}
