import test from 'ava';
import type { ReconcileResult } from '../../src/controllers/reconcile/pass.js';
import type { Instance } from '../../src/domain/types.js';
import { MetricNames } from '../../src/observability/metric-names.js';
import { recordPassResult } from '../../src/observability/reconcile-metrics.js';
import { SimMetricsSink } from '../../src/sim/metrics.js';

// The loop's metrics from a pass's result, on hand-made results: only the fields they read.

const group = (name: string, standby: number, problems: string[] = []) =>
  ({
    group: { name },
    managed: true,
    problems,
    settings: { standby: { size: standby } },
    provenance: {},
  }) as unknown as ReconcileResult['resolved'][number];

function result(
  groups: ReturnType<typeof group>[],
  results: { kind: string; status: string }[] = [],
): ReconcileResult {
  return {
    observation: {} as ReconcileResult['observation'],
    resolved: groups,
    groups: groups.map((r, i) => ({
      resolved: r,
      actions: [],
      problems: [],
      results:
        i === 0
          ? results.map((x) => ({
              action: { kind: x.kind, group: r.group.name, target: 't', reason: 'r' },
              status: x.status,
            }))
          : [],
    })) as unknown as ReconcileResult['groups'],
    orphans: { actions: [], results: [] },
  };
}

const last = (sink: SimMetricsSink, name: string, dims: Record<string, string>) =>
  sink.recent.filter((d) => d.name === name && JSON.stringify(d.dimensions) === JSON.stringify(dims)).at(-1)
    ?.value;

test('standbys ready per group; a group that goes away or gives up its pool reads 0, not its last count', (t) => {
  const sink = new SimMetricsSink();
  const standbyGroups = new Set<string>();
  const stopped = [{ state: 'stopped' }, { state: 'stopped' }, { state: 'pending' }] as Instance[];
  const standbysFor = (g: string) => (g === 'web' || g === 'batch' ? stopped : []);
  recordPassResult(sink, result([group('web', 2), group('batch', 2)]), {
    full: true,
    standbysFor,
    standbyGroups,
  });
  t.is(last(sink, MetricNames.StandbysReady, { AutoScalingGroupName: 'web' }), 2);
  recordPassResult(sink, result([group('web', 0)]), { full: true, standbysFor, standbyGroups });
  t.is(last(sink, MetricNames.StandbysReady, { AutoScalingGroupName: 'web' }), 0, 'pool given up');
  t.is(last(sink, MetricNames.StandbysReady, { AutoScalingGroupName: 'batch' }), 0, 'group gone');
});

test('actions are counted by kind and outcome; groups by state on full passes only', (t) => {
  const sink = new SimMetricsSink();
  const actions = [
    { kind: 'launch-standby', status: 'done' },
    { kind: 'launch-standby', status: 'done' },
    { kind: 'launch-standby', status: 'failed' },
  ];
  recordPassResult(sink, result([group('web', 0), group('bad', 0, ['bad tag'])], actions), {
    full: true,
    standbysFor: () => [],
  });
  t.is(last(sink, MetricNames.ReconcileActions, { Kind: 'launch-standby', Outcome: 'done' }), 2);
  t.is(last(sink, MetricNames.ReconcileActions, { Kind: 'launch-standby', Outcome: 'failed' }), 1);
  t.is(last(sink, MetricNames.Groups, { State: 'managed' }), 2);
  t.is(last(sink, MetricNames.Groups, { State: 'problem' }), 1);
  const before = sink.recent.filter((d) => d.name === MetricNames.Groups).length;
  recordPassResult(sink, result([group('web', 0)]), { full: false, standbysFor: () => [] });
  t.is(
    sink.recent.filter((d) => d.name === MetricNames.Groups).length,
    before,
    'a one-group pass says nothing of the region',
  );
});
