import type { ActionResult } from '../controllers/reconcile/executor.js';
import type { ReconcileResult } from '../controllers/reconcile/pass.js';

// What spotmax tells the bus, as plain data (no I/O): one notice per action taken and per problem
// found. The notifier (notifier.ts) turns them into EventBridge entries with `source: spotmax`.
//
// detail-type per kind, so a rule can pick what it routes:
//   `spotmax action: <kind>`   an action carried out or failed (detail.outcome done | failed); kinds are
//                              the reconciler's (launch-standby, replacement-retire, ...) and the fast
//                              path's `interruption-detach`, `lifecycle-continue` (its failures:
//                              controllers/interruption/failure-notices.ts)
//   `spotmax problem`          a problem that appeared on a group (bad tag, ambiguous policy, ...), or a
//                              release that left work behind (kind release-incomplete, one-off)
//   `spotmax problem resolved` a problem that is gone at the group's next pass

export const NOTICE_SOURCE = 'spotmax';
export const PROBLEM = 'spotmax problem';
export const PROBLEM_RESOLVED = 'spotmax problem resolved';
export const actionDetailType = (kind: string) => `spotmax action: ${kind}`;

export interface NoticeDetail {
  kind: string;
  group?: string;
  /** The instance acted on, when the action is about one. */
  instance?: string;
  /** What the action acts on (an instance, volume, snapshot or the group). */
  target?: string;
  reason: string;
  outcome?: 'done' | 'failed';
  error?: string;
  [key: string]: unknown;
}

export interface Notice {
  detailType: string;
  detail: NoticeDetail;
}

const INSTANCE_ID = /^i-[0-9a-f]+$/;

/** Actions taken (done or failed); dry-run and unsupported ones change nothing and are not news. */
export function actionNotices(results: readonly ActionResult[]): Notice[] {
  const out: Notice[] = [];
  for (const r of results) {
    if (r.status !== 'done' && r.status !== 'failed') continue;
    const a = r.action;
    const detail: NoticeDetail = {
      kind: a.kind,
      group: a.group,
      target: a.target,
      reason: a.reason,
      outcome: r.status,
    };
    if (INSTANCE_ID.test(a.target)) detail.instance = a.target;
    if (r.error) detail.error = r.error;
    out.push({ detailType: actionDetailType(a.kind), detail });
  }
  return out;
}

/**
 * Problems are level, not edge: every pass finds the same ones again. Only a change is news, so the
 * tracker remembers each group's problems at its last pass and says what appeared and what went.
 * In memory: after a restart the standing problems are published once more.
 */
export class ProblemTracker {
  private readonly seen = new Map<string, Set<string>>();

  notices(result: ReconcileResult, options: { full: boolean }): Notice[] {
    // Only groups this pass planned: a group it skipped (backoff, another pass holds it) keeps what it had.
    const now = new Map<string, Set<string>>();
    for (const g of result.groups)
      now.set(g.resolved.group.name, new Set([...g.resolved.problems, ...g.problems]));
    const out: Notice[] = [];
    for (const [group, problems] of now) {
      const before = this.seen.get(group) ?? new Set<string>();
      for (const p of problems)
        if (!before.has(p)) out.push({ detailType: PROBLEM, detail: { kind: 'problem', group, reason: p } });
      for (const p of before)
        if (!problems.has(p))
          out.push({ detailType: PROBLEM_RESOLVED, detail: { kind: 'problem-resolved', group, reason: p } });
      this.seen.set(group, problems);
    }
    // A full pass sees every group: one that is gone (deleted, no longer opted in) is forgotten.
    if (options.full) {
      const present = new Set(result.resolved.map((r) => r.group.name));
      for (const group of this.seen.keys()) if (!present.has(group)) this.seen.delete(group);
    }
    return out;
  }
}

/** Every notice of one reconcile pass: its actions (orphans included) and its problem changes. */
export function passNotices(
  result: ReconcileResult,
  problems: ProblemTracker,
  options: { full: boolean },
): Notice[] {
  return [
    ...actionNotices(result.groups.flatMap((g) => g.results)),
    ...actionNotices(result.orphans.results),
    ...problems.notices(result, options),
  ];
}
