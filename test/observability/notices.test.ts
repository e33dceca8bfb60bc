import test from 'ava';
import type { ReconcileResult } from '../../src/controllers/reconcile/pass.js';
import { actionNotices, ProblemTracker, passNotices } from '../../src/observability/notices.js';

// What a pass tells the bus: actions taken (not rehearsed), problems when they appear and when they go.

const outcome = (name: string, problems: string[], planProblems: string[] = []) => ({
  resolved: { group: { name }, managed: true, problems, provenance: {} },
  actions: [],
  problems: planProblems,
  results: [],
});

const result = (groups: ReturnType<typeof outcome>[], resolvedOnly: string[] = []): ReconcileResult =>
  ({
    observation: {},
    resolved: [
      ...groups.map((g) => g.resolved),
      ...resolvedOnly.map((name) => ({ group: { name }, problems: [] })),
    ],
    groups,
    orphans: { actions: [], results: [] },
  }) as unknown as ReconcileResult;

test('a problem is published when it appears and when it goes, not at every pass', (t) => {
  const tracker = new ProblemTracker();
  const first = tracker.notices(result([outcome('web', ['bad tag'], ['no volume at /dev/sdf'])]), {
    full: true,
  });
  t.deepEqual(
    first.map((n) => [n.detailType, n.detail.group, n.detail.reason]),
    [
      ['spotmax problem', 'web', 'bad tag'],
      ['spotmax problem', 'web', 'no volume at /dev/sdf'],
    ],
  );
  t.deepEqual(
    tracker.notices(result([outcome('web', ['bad tag'], ['no volume at /dev/sdf'])]), { full: true }),
    [],
  );
  const fixed = tracker.notices(result([outcome('web', [], ['no volume at /dev/sdf'])]), { full: true });
  t.deepEqual(
    fixed.map((n) => [n.detailType, n.detail.reason]),
    [['spotmax problem resolved', 'bad tag']],
  );
});

test('a group the pass skipped (backoff) keeps its problems: no resolved/appeared flapping', (t) => {
  const tracker = new ProblemTracker();
  tracker.notices(result([outcome('web', ['bad tag'])]), { full: true });
  t.deepEqual(tracker.notices(result([], ['web']), { full: true }), []);
  t.deepEqual(tracker.notices(result([outcome('web', ['bad tag'])]), { full: true }), []);
});

test('only actions done or failed are news; the instance is named when the target is one', (t) => {
  const action = (kind: string, target: string) => ({ kind, group: 'web', target, reason: 'why' });
  const notices = actionNotices([
    { action: action('launch-standby', 'web'), status: 'done' },
    { action: action('tag-instance', 'i-0abc'), status: 'failed', error: 'throttled' },
    { action: action('tag-instance', 'i-0def'), status: 'dry-run' },
    { action: action('tag-instance', 'i-0123'), status: 'unsupported' },
  ] as Parameters<typeof actionNotices>[0]);
  t.deepEqual(
    notices.map((n) => [n.detailType, n.detail.instance, n.detail.outcome, n.detail.error]),
    [
      ['spotmax action: launch-standby', undefined, 'done', undefined],
      ['spotmax action: tag-instance', 'i-0abc', 'failed', 'throttled'],
    ],
  );
  t.is(passNotices(result([]), new ProblemTracker(), { full: true }).length, 0);
});
