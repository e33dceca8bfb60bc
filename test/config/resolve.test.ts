import test from 'ava';
import { loadPoliciesFromText, type PolicySet } from '../../src/config/load.js';
import { resolveGroup, resolveGroups } from '../../src/config/resolve.js';
import { settingLeaves } from '../../src/config/schema-walk.js';
import { globMatch } from '../../src/config/select.js';
import { group } from './groups.js';

const POLICIES = `apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: k8s-workers }
spec:
  match:
    names: ["eks-workers-*"]
  interruption:
    detachDelaySeconds: 20
  kubernetes:
    enabled: true
    kubeconfig: /etc/spotmax/kubeconfig
  standby: { size: 2, state: hibernated }
---
apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: web }
spec:
  match: { tags: { team: web } }
  replacement:
    maxConcurrent: 3
---
apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: web-canary }
spec:
  match: { names: ["web-canary-?"] }
  lifetime: { durationHours: 2 }
`;

const set: PolicySet = loadPoliciesFromText(POLICIES, 'policies/fleet.yaml');

test('the fixture policies load cleanly', (t) => {
  t.deepEqual(set.issues, []);
  t.is(set.policies.length, 3);
});

test('defaults < policy < tags, each leaf with its source', (t) => {
  const r = resolveGroup(group('eks-workers-a', { 'spotmax:detaching_delay_seconds': '45' }), set);
  t.true(r.managed, r.unmanagedReason);
  t.is(r.policyName, 'k8s-workers');
  t.is(r.settings!.interruption.detachDelaySeconds, 45);
  t.deepEqual(r.provenance['interruption.detachDelaySeconds'], {
    value: 45,
    source: 'tag:spotmax:detaching_delay_seconds',
  });
  // Policy values point at the line they are written on (1-based).
  t.deepEqual(r.provenance['kubernetes.kubeconfig'], {
    value: '/etc/spotmax/kubeconfig',
    source: 'policy:policies/fleet.yaml:11',
  });
  t.deepEqual(r.provenance['kubernetes.enabled'], { value: true, source: 'policy:policies/fleet.yaml:10' });
  t.deepEqual(r.provenance['standby.size'], { value: 2, source: 'policy:policies/fleet.yaml:12' });
  t.deepEqual(r.provenance['standby.state'], {
    value: 'hibernated',
    source: 'policy:policies/fleet.yaml:12',
  });
  t.deepEqual(r.provenance['replacement.maxConcurrent'], { value: 1, source: 'default' });
  t.deepEqual(r.provenance['lifetime.durationHours'], { value: null, source: 'default' });
  t.deepEqual(
    Object.keys(r.provenance).sort(),
    settingLeaves()
      .map((l) => l.path)
      .sort(),
  );
  t.deepEqual(r.problems, []);
});

test('the seed documented tag set shows its values with tag provenance', (t) => {
  const r = resolveGroup(
    group('legacy-asg', {
      'spotmax:k8s_config_file_path': '/data/spotmax/k8sconfig',
      'spotmax:detaching_delay_seconds': '80',
      'spotmax:instance_duration_hours': '1',
      'spotmax:gurantee_living_mins': '50',
    }),
    set,
  );
  t.true(r.managed, r.unmanagedReason);
  t.is(r.policyName, undefined);
  t.deepEqual(r.provenance['kubernetes.kubeconfig'], {
    value: '/data/spotmax/k8sconfig',
    source: 'tag:spotmax:k8s_config_file_path',
  });
  t.deepEqual(r.provenance['kubernetes.enabled'], {
    value: true,
    source: 'tag:spotmax:k8s_config_file_path',
  });
  t.deepEqual(r.provenance['interruption.detachDelaySeconds'], {
    value: 80,
    source: 'tag:spotmax:detaching_delay_seconds',
  });
  t.deepEqual(r.provenance['lifetime.durationHours'], {
    value: 1,
    source: 'tag:spotmax:instance_duration_hours',
  });
  t.deepEqual(r.provenance['lifetime.guaranteeMinutes'], {
    value: 50,
    source: 'tag:spotmax:gurantee_living_mins',
  });
  t.is(r.settings!.lifetime.guaranteeMinutes, 50);
});

for (const value of ['abc', '120']) {
  test(`spotmax:detaching_delay_seconds=${value} makes the group unmanaged with the reason`, (t) => {
    const r = resolveGroup(group('web-1', { 'spotmax:detaching_delay_seconds': value }), set);
    t.false(r.managed);
    const msg = `tag spotmax:detaching_delay_seconds="${value}": expected a whole number of seconds from 0 to 119`;
    t.is(r.unmanagedReason, msg);
    t.deepEqual(r.problems, [msg]);
    t.is(r.settings, undefined);
  });
}

test('selection: spotmax:policy names the policy, even against match', (t) => {
  const r = resolveGroup(group('eks-workers-b', { 'spotmax:policy': 'web' }), set);
  t.true(r.managed);
  t.is(r.policyName, 'web');
  t.is(r.provenance['replacement.maxConcurrent']!.source, 'policy:policies/fleet.yaml:20');
});

test('selection: match by name glob and by tags', (t) => {
  t.is(resolveGroup(group('eks-workers-x', { 'spotmax:enabled': 'true' }), set).policyName, 'k8s-workers');
  t.is(resolveGroup(group('frontend', { 'spotmax:enabled': 'true', team: 'web' }), set).policyName, 'web');
  t.is(
    resolveGroup(group('frontend', { 'spotmax:enabled': 'true', team: 'data' }), set).policyName,
    undefined,
  );
  t.is(resolveGroup(group('web-canary-1', { 'spotmax:enabled': 'true' }), set).policyName, 'web-canary');
  t.is(resolveGroup(group('web-canary-10', { 'spotmax:enabled': 'true' }), set).policyName, undefined);
  t.true(globMatch('eks-*-?', 'eks-workers-a'));
  t.false(globMatch('eks.*', 'eksXworkers'));
});

test('selection: two matching policies are a problem naming both, and the group is left alone', (t) => {
  const r = resolveGroup(group('eks-workers-web', { 'spotmax:enabled': 'true', team: 'web' }), set);
  t.false(r.managed);
  t.is(r.problems.length, 1);
  t.regex(
    r.problems[0]!,
    /"k8s-workers" \(policies\/fleet\.yaml:3\) and "web" \(policies\/fleet\.yaml:16\) all match/,
  );
  t.is(r.settings, undefined);
});

test('selection: a named policy that does not exist is a problem with a suggestion', (t) => {
  const r = resolveGroup(group('frontend', { 'spotmax:policy': 'wev' }), set);
  t.false(r.managed);
  t.is(r.unmanagedReason, 'spotmax:policy=wev: no policy named "wev"; did you mean "web"?');
});

test('selection: a policy with errors is not silently replaced by defaults', (t) => {
  const broken = loadPoliciesFromText(
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: batch }\nspec:\n  match: { names: ["batch-*"] }\n  standby: { size: -1 }\n',
    'b.yaml',
  );
  t.is(broken.issues.length, 1);
  const byMatch = resolveGroup(group('batch-1', { 'spotmax:enabled': 'true' }), broken);
  t.false(byMatch.managed);
  t.regex(byMatch.unmanagedReason!, /policy "batch" \(b\.yaml:1\) matches this group but has errors/);
  const byName = resolveGroup(group('other', { 'spotmax:policy': 'batch' }), broken);
  t.false(byName.managed);
  t.regex(byName.unmanagedReason!, /has errors; run spotmax validate/);
});

test('not opted in, opted out', (t) => {
  const none = resolveGroup(group('eks-workers-a', { team: 'web' }), set);
  t.false(none.managed);
  t.regex(none.unmanagedReason!, /no spotmax:\* tag/);
  const off = resolveGroup(
    group('eks-workers-a', { 'spotmax:enabled': 'false', 'spotmax:detaching_delay_seconds': 'abc' }),
    set,
  );
  t.false(off.managed);
  t.is(off.unmanagedReason, 'opted out: spotmax:enabled=false');
  t.deepEqual(off.problems, []);
  t.true(resolveGroup(group('x', { 'spotmax:enabled': 'True' }), set).managed);
});

test('a launch configuration group is unsuitable; a mixed instances policy template is fine', (t) => {
  const lc = resolveGroup(
    group(
      'old',
      { 'spotmax:enabled': 'true' },
      { launchTemplate: undefined, launchConfigurationName: 'old-lc' },
    ),
    set,
  );
  t.false(lc.managed);
  t.is(lc.unmanagedReason, 'unsuitable: uses launch configuration old-lc; spotmax needs a launch template');
  const mixed = resolveGroup(
    group(
      'mixed',
      { 'spotmax:enabled': 'true' },
      {
        launchTemplate: undefined,
        mixedInstancesPolicy: { launchTemplate: { name: 'tmpl' }, overrides: [], instancesDistribution: {} },
      },
    ),
    set,
  );
  t.true(mixed.managed, mixed.unmanagedReason);
});

test('cross-field rules apply to the merged result, naming who set what', (t) => {
  const r = resolveGroup(
    group('web-canary-1', { 'spotmax:gurantee_living_mins': '150' }), // the policy says durationHours: 2
    set,
  );
  t.false(r.managed);
  t.regex(
    r.unmanagedReason!,
    /guaranteeMinutes \(150\) must be less than lifetime\.durationHours × 60 \(120\)/,
  );
  t.regex(
    r.unmanagedReason!,
    /lifetime\.durationHours from policy "web-canary" \(policies\/fleet\.yaml:27\)/,
  );
  t.regex(r.unmanagedReason!, /lifetime\.guaranteeMinutes from tag spotmax:gurantee_living_mins/);

  const k8s = resolveGroup(group('x', { 'spotmax:k8s_node_drain_option': 'true' }), set);
  t.false(k8s.managed);
  t.regex(
    k8s.unmanagedReason!,
    /kubernetes\.enabled needs kubernetes\.kubeconfig.*from tag spotmax:k8s_node_drain_option/,
  );
});

test('standby size with hibernation is fine; unknown keys warn but keep the group managed', (t) => {
  const r = resolveGroup(
    group('x', {
      'spotmax:standby_size': '3',
      'spotmax:standby_state': 'hibernated',
      'spotmax:standby_sise': '1',
    }),
    set,
  );
  t.true(r.managed);
  t.is(r.settings!.standby.size, 3);
  t.deepEqual(r.problems, [
    'unknown tag spotmax:standby_sise="1" ignored; the closest known key is spotmax:standby_size',
  ]);
});

test('one bad group never hides the others', (t) => {
  const out = resolveGroups(
    [group('a', { 'spotmax:detaching_delay_seconds': 'abc' }), group('b', { 'spotmax:enabled': 'true' })],
    set,
  );
  t.deepEqual(
    out.map((r) => [r.group.name, r.managed]),
    [
      ['a', false],
      ['b', true],
    ],
  );
});
