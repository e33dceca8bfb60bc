import { describeError } from '../../domain/errors.js';
import type { InterruptionEvent } from '../../domain/events.js';
import { actionDetailType, type Notice, PROBLEM } from '../../observability/notices.js';
import type { ReleaseMode, ReleaseOutcome, ReleaseReason } from '../../ports/releaser.js';

// What the fast path tells the operators' bus when its work does not go through (observability/notices.ts
// has the kinds). A failed message comes back through SQS (consumer.ts), so a failure is news twice at
// most: the detach that failed on a delivery that will be retried (`retrying: true`), and the message
// given up after its last delivery (`retrying: false`, published once whatever failed on it). A release
// that left work behind is a problem an operator may have to finish by hand, published once.

/** The action an event asks of spotmax, named as its `done` notice is (interruption-detach, ...). */
export function actionKindOf(ev: InterruptionEvent): string {
  switch (ev.kind) {
    case 'spot-interruption':
    case 'state-change':
      return 'interruption-detach';
    case 'lifecycle-launch':
    case 'lifecycle-terminate':
      return 'lifecycle-continue';
    case 'rebalance':
    case 'scheduled-change':
      return 'rebalance';
  }
}

/** What is left undone when the message of an event is given up, by the event's action. */
const GIVEN_UP: Record<string, string> = {
  'interruption-detach': 'the instance was not detached (Auto Scaling replaces it only once EC2 reclaims it)',
  'lifecycle-continue': 'the hook ends at its heartbeat timeout with its default result',
  rebalance: 'the recommendation was not acted on',
};

/** A detach that failed on a delivery that is not the last: the message comes back, the detach is tried again. */
export function detachFailedNotice(args: {
  ev: InterruptionEvent;
  group: string;
  err: unknown;
  attempt: number;
}): Notice {
  const { ev, group, err, attempt } = args;
  return {
    detailType: actionDetailType('interruption-detach'),
    detail: {
      kind: 'interruption-detach',
      group,
      instance: ev.instanceId,
      target: ev.instanceId,
      reason: `detaching ${ev.instanceId} from ${group} after ${describeEvent(ev)} failed on attempt ${attempt}; the message is delivered again`,
      outcome: 'failed',
      error: describeError(err),
      attempt,
      retrying: true,
    },
  };
}

/** The message's last delivery failed too: spotmax gives it up (deleted, counted as too-many-attempts). */
export function gaveUpNotice(args: {
  ev: InterruptionEvent;
  group: string | undefined;
  err: unknown;
  attempt: number;
}): Notice {
  const { ev, group, err, attempt } = args;
  const kind = actionKindOf(ev);
  return {
    detailType: actionDetailType(kind),
    detail: {
      kind,
      ...(group ? { group } : {}),
      instance: ev.instanceId,
      target: ev.instanceId,
      reason: `gave up ${describeEvent(ev)} after ${attempt} attempts; ${GIVEN_UP[kind]}`,
      outcome: 'failed',
      error: describeError(err),
      attempt,
      retrying: false,
    },
  };
}

/** Release steps that failed or left work behind (a drain that timed out with pods left, a refused deregistration). */
export function releaseIncompleteNotice(args: {
  group: string;
  instanceId: string;
  mode: ReleaseMode;
  reason: ReleaseReason;
  outcomes: readonly ReleaseOutcome[];
  summary: string;
}): Notice | undefined {
  const incomplete = args.outcomes.filter((o) => o.status === 'failed' || o.status === 'partial');
  if (incomplete.length === 0) return undefined;
  return {
    detailType: PROBLEM,
    detail: {
      kind: 'release-incomplete',
      group: args.group,
      instance: args.instanceId,
      target: args.instanceId,
      reason: `${args.mode === 'cordon' ? 'cordon' : 'release'} of ${args.instanceId} (${args.reason}) incomplete: ${args.summary}`,
      steps: incomplete.map((o) => ({
        step: o.step,
        status: o.status,
        ...(o.detail ? { detail: o.detail } : {}),
      })),
    },
  };
}

function describeEvent(ev: InterruptionEvent): string {
  switch (ev.kind) {
    case 'spot-interruption':
      return `the Spot interruption warning of ${ev.time.toISOString()}`;
    case 'state-change':
      return `the state change to ${ev.state} of ${ev.time.toISOString()}`;
    case 'lifecycle-launch':
    case 'lifecycle-terminate':
      return `lifecycle hook ${ev.hookName} of ${ev.instanceId}`;
    case 'rebalance':
      return `the rebalance recommendation of ${ev.time.toISOString()}`;
    case 'scheduled-change':
      return `the scheduled change of ${ev.time.toISOString()}`;
  }
}
