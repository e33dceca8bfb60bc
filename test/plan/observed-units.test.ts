import test from 'ava';
import { observedCounts } from '../../src/cli/plan-report.js';
import { countsLine } from '../../src/cli/render/format-value.js';
import { instance, planInput } from './factories.js';

// plan's observed counts in a weighted group (issue 11 rule 6): desired is in units, so the InService
// members' units are shown beside their number; a group without weights keeps the old shape.

test('a weighted group shows the units its InService members count for', (t) => {
  const input = planInput({ members: [instance(), instance(), instance()] });
  const group = {
    ...input.resolved.group,
    desired: 10,
    members: input.resolved.group.members.map((m, i) => ({ ...m, weightedCapacity: i === 0 ? 2 : 4 })),
  };
  const o = observedCounts({ ...input.resolved, group }, input.observation);
  t.is(o.inService, 3);
  t.is(o.inServiceUnits, 10);
  t.regex(countsLine(o), /desired 10 \(min 0, max \d+\), in service 3 \(10 units; sizes are in units\)/);
});

test('a group without weights has no units key (the JSON contract only gains keys where they mean something)', (t) => {
  const input = planInput({ members: [instance(), instance()] });
  const o = observedCounts(input.resolved, input.observation);
  t.false('inServiceUnits' in o);
  t.regex(countsLine(o), /in service 2, spot/);
});
