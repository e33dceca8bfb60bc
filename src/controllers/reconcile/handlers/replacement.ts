import type { ActionOf, RetireStep } from '../../../domain/actions.js';
import { isAutoScalingNotFound, isAutoScalingNotInService, SpotmaxError } from '../../../domain/errors.js';
import { GROUP_TAG, REPLACEMENT_TAG, REPLACES_TAG } from '../../../domain/tags.js';
import type { Group } from '../../../domain/types.js';
import { isLeavingState } from '../../../plan/members.js';
import {
  formatReplacementRecord,
  isRecordError,
  parseReplacementRecord,
  type ReplacementRecord,
  recordUnits,
} from '../../../plan/replacement-record.js';
import { unitsOfMember } from '../../../plan/units.js';
import { recordReleaseMetrics, summarizeOutcomes } from '../../../release/outcomes.js';
import { runReleasers } from '../../../release/run.js';
import type { ActionHandlers, ExecContext } from '../executor.js';
import { freshGroup, freshInstance } from './cloud-reads.js';

// Launch-before-retire. Every step is written to the old instance's spotmax:replacement tag BEFORE its
// effect, and each effect is guarded by what AWS shows now, so a pass killed between any two calls is
// finished by the next one without adding capacity twice or terminating without capacity added.

const RETIRE_ORDER: readonly RetireStep[] = ['releasing', 'detaching', 'restoring-max', 'terminating'];
const DEFAULT_RELEASE_MS = 120_000;

/** The group tag goes along: a detached instance is found again by it (and by the record). */
async function writeRecord(
  ctx: ExecContext,
  instanceId: string,
  record: ReplacementRecord,
  group: string,
): Promise<void> {
  await ctx.cloud.ec2.createTags([instanceId], {
    [REPLACEMENT_TAG]: formatReplacementRecord(record),
    [GROUP_TAG]: group,
  });
}

function readRecord(value: string | undefined): ReplacementRecord | undefined {
  if (value === undefined) return undefined;
  const parsed = parseReplacementRecord(value);
  return isRecordError(parsed) ? undefined : parsed;
}

async function addCapacity(a: ActionOf<'replacement-add-capacity'>, ctx: ExecContext): Promise<void> {
  const old = await freshInstance(ctx, a.target);
  if (!old || old.state === 'terminated' || old.state === 'shutting-down') return;
  const existing = readRecord(old.tags[REPLACEMENT_TAG]);
  // Another pass (or process) already got past this step: never begin a second replacement.
  if (existing && existing.step !== 'adding') return;
  if (old.tags[REPLACEMENT_TAG] !== undefined && !existing) {
    throw new SpotmaxError(
      `replacing ${a.target} in ${a.group}: its ${REPLACEMENT_TAG} tag is unreadable; not touching it`,
    );
  }
  let group = await freshGroup(ctx, a.group);
  let record: ReplacementRecord;
  if (existing) {
    record = existing;
  } else {
    ({ record, group } = await recordAddingAgainstFresh(ctx, a, group));
  }
  const units = recordUnits(record);
  const desiredBefore = record.desiredBefore ?? a.resumeDesiredBefore ?? group.desired;
  const maxBefore = record.maxBefore ?? a.resumeMaxBefore ?? group.max;
  // Desired still where it was before: the +units has not happened yet. Anything else means it has.
  let raised = group.max > maxBefore;
  if (group.desired === desiredBefore) {
    const raise = desiredBefore + units > group.max;
    // Raised by the units and lowered by as many after the detach (restoring-max).
    const max = group.max + units;
    try {
      await ctx.cloud.autoscaling.updateGroup(a.group, {
        desired: desiredBefore + units,
        ...(raise ? { max } : {}),
      });
    } catch (err) {
      throw new SpotmaxError(
        `adding capacity to ${a.group} before replacing ${a.target} (desired ${desiredBefore} -> ${desiredBefore + units}${raise ? `, MaxSize ${group.max} -> ${max}` : ''})`,
        { cause: err },
      );
    }
    raised ||= raise;
  }
  await writeRecord(
    ctx,
    a.target,
    { ...record, step: 'waiting', addedCapacity: true, raisedMax: raised },
    a.group,
  );
}

/** Re-reads after the record write before giving up on a group that keeps changing under it. */
const ADDING_TRIES = 3;

/**
 * Writes the `adding` record and returns it with the group as Auto Scaling shows it right after: the
 * desired capacity and MaxSize the record holds are still the group's. The write may wait seconds for
 * its share of EC2's request rate (app/guarded-cloud.ts pacedWrites), and a standby swap's attach, a
 * scaling policy or a user may change desired meanwhile. Raising from the read made before the wait would
 * then set desired from a stale value (an attach's +1 undone, the replacement's capacity never added,
 * and the retire's decrement later taking one more); and a resumed pass, finding desired off the
 * record, would take the raise as done. So the group is read again after each write, and the record
 * rewritten from it until the two agree. A group still changing after 3 tries loses the record again
 * (the next pass starts afresh) and the step fails, to be tried by a later pass.
 */
async function recordAddingAgainstFresh(
  ctx: ExecContext,
  a: ActionOf<'replacement-add-capacity'>,
  seen: Group,
): Promise<{ record: ReplacementRecord; group: Group }> {
  const since = ctx.clock.now();
  let group = seen;
  for (let attempt = 1; ; attempt++) {
    // In a weighted group the old instance's units are added, not 1 (plan/units.ts): the group then
    // launches until they are covered, whatever type it picks.
    const units = unitsOfMember(group, a.target);
    const record: ReplacementRecord = {
      step: 'adding',
      since,
      why: a.why,
      desiredBefore: group.desired,
      maxBefore: group.max,
      ...(units !== 1 ? { units } : {}),
    };
    await writeRecord(ctx, a.target, record, a.group);
    const now = await freshGroup(ctx, a.group);
    if (now.desired === group.desired && now.max === group.max) return { record, group: now };
    if (attempt === ADDING_TRIES) {
      await ctx.cloud.ec2.deleteTags([a.target], [REPLACEMENT_TAG]);
      throw new SpotmaxError(
        `adding capacity to ${a.group} before replacing ${a.target}: desired/MaxSize changed while its record was written ${ADDING_TRIES} times (${group.desired}/${group.max} -> ${now.desired}/${now.max}); record removed, trying again on a later pass`,
      );
    }
    ctx.logger.info(
      {
        group: a.group,
        instance: a.target,
        desired: [group.desired, now.desired],
        max: [group.max, now.max],
      },
      `${a.group} changed while the replacement record of ${a.target} was written (desired ${group.desired} -> ${now.desired}, MaxSize ${group.max} -> ${now.max}); recording it again`,
    );
    group = now;
  }
}

async function retire(a: ActionOf<'replacement-retire'>, ctx: ExecContext): Promise<void> {
  const old = await freshInstance(ctx, a.target);
  // A terminated instance is done, unless it went by other hands: its added capacity is still ours to undo.
  if (!old || (old.state === 'terminated' && !a.gone)) return;
  const current = readRecord(old.tags[REPLACEMENT_TAG]) ?? readRecord(a.record);
  if (!current)
    throw new SpotmaxError(`retiring ${a.target} from ${a.group}: no readable ${REPLACEMENT_TAG} record`);
  if (current.step === 'adding')
    throw new SpotmaxError(`retiring ${a.target} from ${a.group}: capacity was never added`);
  let record: ReplacementRecord = { ...current };
  if (a.interrupted && !record.interrupted && (record.step === 'waiting' || record.step === 'releasing')) {
    // The fast path released it; go straight to the detach, which now also undoes the added capacity.
    record = { ...record, step: 'detaching', interrupted: true };
  } else if (a.gone && !record.gone && (record.step === 'waiting' || record.step === 'releasing')) {
    // Auto Scaling (or a user) took it out of the group: nothing to release or detach, only the
    // capacity added for it to take back.
    record = { ...record, step: 'detaching', gone: true };
  } else if (record.step === 'waiting') {
    record = { ...record, step: 'releasing' };
    if (a.newInstanceId) record.newInstanceId = a.newInstanceId;
    if (a.force) record.forced = true;
  }
  const start = RETIRE_ORDER.indexOf(record.step as RetireStep);
  for (const step of RETIRE_ORDER.slice(start)) {
    record = { ...record, step };
    switch (step) {
      case 'releasing': {
        // Mark the new member first: from then on no other replacement can count it as its own.
        if (record.newInstanceId)
          await ctx.cloud.ec2.createTags([record.newInstanceId], { [REPLACES_TAG]: a.target });
        await writeRecord(ctx, a.target, record, a.group);
        const releasers = ctx.releasers ?? [];
        if (releasers.length > 0) {
          const outcomes = await runReleasers(
            releasers,
            {
              groupName: a.group,
              instance: old,
              mode: 'drain',
              reason: a.why,
              deadline: new Date(ctx.clock.now().getTime() + (ctx.releaseTimeoutMs ?? DEFAULT_RELEASE_MS)),
            },
            { clock: ctx.clock },
          );
          recordReleaseMetrics(ctx.cloud.metrics, a.group, outcomes);
          ctx.logger.info(
            { group: a.group, instance: a.target, outcomes },
            `released ${a.target}: ${summarizeOutcomes(outcomes)}`,
          );
        }
        break;
      }
      case 'detaching':
        record = await detach(ctx, a, record);
        break;
      case 'restoring-max': {
        if (!record.raisedMax) break;
        let group = await freshGroup(ctx, a.group);
        if (record.maxExpected === undefined) {
          record = { ...record, maxExpected: group.max };
          await writeRecord(ctx, a.target, record, a.group);
          // The write may have waited for its token (pacedWrites): decide from the group as it is now.
          // MaxSize changed meanwhile means someone else decided, and it is left as they set it.
          group = await freshGroup(ctx, a.group);
        }
        // Lower only from the value seen before lowering: a resumed pass never lowers twice.
        if (group.max === record.maxExpected) {
          await ctx.cloud.autoscaling.updateGroup(a.group, {
            max: Math.max(group.max - recordUnits(record), group.desired, group.min),
          });
        }
        break;
      }
      case 'terminating':
        await writeRecord(ctx, a.target, record, a.group);
        await ctx.cloud.ec2.terminateInstances([a.target]);
        break;
    }
  }
}

/**
 * Detach with decrement. When someone else removes the old instance from the group (the fast path
 * detaching an interrupted instance without decrement, Auto Scaling terminating it for a health check,
 * Capacity Rebalancing or scale-in), desired is lowered by one instead: the capacity added for the
 * replacement would otherwise stay forever. Guarded by the desired capacity seen before, so a resumed
 * pass never lowers it twice. A member already leaving (Detaching, Terminating*) is never detached:
 * Auto Scaling refuses it ("not in InService or Standby").
 */
async function detach(
  ctx: ExecContext,
  a: ActionOf<'replacement-retire'>,
  current: ReplacementRecord,
): Promise<ReplacementRecord> {
  let record = current;
  const byOthers = record.interrupted || record.gone;
  let group = await freshGroup(ctx, a.group);
  const member = group.members.find((m) => m.instanceId === a.target);
  if (member && !isLeavingState(member.lifecycleState)) {
    await writeRecord(ctx, a.target, record, a.group);
    try {
      await ctx.cloud.autoscaling.detachInstances(a.group, [a.target], true);
      return record;
    } catch (err) {
      if (isAutoScalingNotInService(err)) {
        // It changed state since the read above; look again and decide from what Auto Scaling shows.
        group = await freshGroup(ctx, a.group);
        const now = group.members.find((m) => m.instanceId === a.target);
        if (now && !isLeavingState(now.lifecycleState)) {
          throw new SpotmaxError(
            `detaching ${a.target} from ${a.group} to retire it (${a.why}): it is ${now.lifecycleState}, not InService or Standby; trying again on a later pass`,
            { cause: err },
          );
        }
      } else if (!isAutoScalingNotFound(err)) {
        throw err;
      }
    }
  }
  // Not a member any more, or leaving. Our own detach (recorded at this step before the call) already
  // took its decrement; only an instance that left by other hands has capacity to take back.
  if (!byOthers) {
    if (!member || member.lifecycleState === 'Detaching' || member.lifecycleState === 'Detached')
      return record;
    // Auto Scaling is terminating it under our retire: it will not decrement; we do.
    record = { ...record, gone: true };
  }
  if (record.desiredExpected === undefined) {
    record = { ...record, desiredExpected: group.desired };
    await writeRecord(ctx, a.target, record, a.group);
    // As for MaxSize above: after a write that may have waited, the decrement follows the group as it is
    // now, and desired changed meanwhile is someone else's decision (not lowered again on top of it).
    group = await freshGroup(ctx, a.group);
  }
  if (group.desired === record.desiredExpected && group.desired > group.min) {
    // The units added for it (1 in a group without weights), never below MinSize.
    await ctx.cloud.autoscaling.updateGroup(a.group, {
      desired: Math.max(group.min, group.desired - recordUnits(record)),
    });
  }
  return record;
}

export const replacementHandlers: ActionHandlers = {
  'replacement-add-capacity': addCapacity,
  'replacement-retire': retire,
};
