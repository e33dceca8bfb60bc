import test from 'ava';
import { enumValues, leafKind, settingLeaves } from '../../src/config/schema-walk.js';
import { POLICY_ONLY_PATHS, parseGroupTags, systematicKey, TAG_KEYS } from '../../src/config/tag-keys.js';

// A good and a bad value for every key, derived from the kind of setting it targets.
function samples(key: string, path: string | undefined): { good: string; bad: string } {
  if (key === 'spotmax:enabled' || key === 'spotmax:is_enable_preaction') return { good: 'TRUE', bad: 'yes' };
  if (key === 'spotmax:policy') return { good: 'web', bad: ' ' };
  if (key === 'spotmax:k8s_node_drain_option') return { good: '--ignore-daemonsets --force', bad: '--bogus' };
  // Settings whose own rules the kind-derived samples do not meet: a region name, a 60 s minimum.
  if (key === 'spotmax:kubernetes_eks_region') return { good: 'eu-west-1', bad: '' };
  if (key === 'spotmax:standby_readiness_timeout_seconds') return { good: '900', bad: 'abc' };
  const leaf = settingLeaves().find((l) => l.path === path)!;
  switch (leafKind(leaf.schema)) {
    case 'integer':
      return { good: '7', bad: 'abc' };
    case 'number':
      return { good: '1.5', bad: '0' };
    case 'boolean':
      return { good: 'False', bad: 'on' };
    case 'enum':
      return { good: enumValues(leaf.schema).at(-1)!, bad: 'sometimes' };
    default:
      return { good: '/dev/sdf', bad: '' };
  }
}

for (const entry of TAG_KEYS) {
  test(`tag ${entry.key} parses a good value and refuses a bad one`, (t) => {
    const { good, bad } = samples(entry.key, entry.path);
    const ok = parseGroupTags([{ key: entry.key, value: good }]);
    t.deepEqual(ok.errors, []);
    t.deepEqual(ok.warnings, []);
    if (entry.path) {
      const set = ok.settings.get(entry.path) ?? [...ok.settings.values()][0];
      t.truthy(set, `${entry.key}=${good} sets something`);
      t.is(set!.key, entry.key);
    }
    const ko = parseGroupTags([{ key: entry.key, value: bad }]);
    t.is(ko.errors.length, 1);
    t.true(ko.errors[0]!.startsWith(`tag ${entry.key}="${bad}": `), ko.errors[0]);
    t.is(ko.settings.size, 0);
  });
}

test('every setting has a tag key, except the ones that decide where credentials go', (t) => {
  const covered = new Set(TAG_KEYS.map((k) => k.path));
  const missing = settingLeaves()
    .map((l) => l.path)
    .filter((p) => !covered.has(p) && !POLICY_ONLY_PATHS.has(p));
  t.deepEqual(missing, []);
  for (const p of POLICY_ONLY_PATHS) t.false(covered.has(p), `${p} must not be settable by tag`);
  t.is(new Set(TAG_KEYS.map((k) => k.key)).size, TAG_KEYS.length, 'keys are unique');
});

test('systematic keys are the snake case of the dotted path', (t) => {
  t.is(systematicKey('kubernetes.drainTimeoutSeconds'), 'spotmax:kubernetes_drain_timeout_seconds');
  t.is(systematicKey('standby.state'), 'spotmax:standby_state');
  t.truthy(TAG_KEYS.find((k) => k.key === 'spotmax:kubernetes_drain_timeout_seconds'));
  t.truthy(TAG_KEYS.find((k) => k.key === 'spotmax:standby_state'));
});

test('the seed keys map to their settings, implied switches included', (t) => {
  const parsed = parseGroupTags(
    Object.entries({
      'spotmax:k8s_config_file_path': '/data/spotmax/k8sconfig',
      'spotmax:detaching_delay_seconds': '80',
      'spotmax:instance_duration_hours': '1',
      'spotmax:gurantee_living_mins': '50',
      'spotmax:consul_port': '8501',
      'spotmax:is_enable_preaction': 'true',
      'spotmax:max_num_of_terminated_one_time': '3',
    }).map(([key, value]) => ({ key, value })),
  );
  t.deepEqual(parsed.errors, []);
  const v = (p: string) => parsed.settings.get(p)?.value;
  t.is(v('kubernetes.kubeconfig'), '/data/spotmax/k8sconfig');
  t.is(v('kubernetes.enabled'), true);
  t.is(parsed.settings.get('kubernetes.enabled')!.key, 'spotmax:k8s_config_file_path');
  t.is(v('interruption.detachDelaySeconds'), 80);
  t.is(v('lifetime.durationHours'), 1);
  t.is(v('lifetime.guaranteeMinutes'), 50);
  t.is(v('consul.port'), 8501);
  t.is(v('consul.enabled'), true);
  t.is(v('rebalance.action'), 'replace');
  t.is(v('replacement.maxConcurrent'), 3);
  const one = (key: string, value: string, path: string) =>
    parseGroupTags([{ key, value }]).settings.get(path)?.value;
  t.is(one('spotmax:is_enable_preaction', 'false', 'rebalance.action'), 'ignore');
  t.is(one('spotmax:guarantee_living_mins', '40', 'lifetime.guaranteeMinutes'), 40);
  t.is(one('spotmax:k8s_node_drain_option', 'true', 'kubernetes.enabled'), true);
  t.is(one('spotmax:k8s_node_drain_option', '--force', 'kubernetes.drainOption'), '--force');
});

test('an explicit tag wins over a value another tag implies', (t) => {
  const parsed = parseGroupTags([
    { key: 'spotmax:consul_port', value: '8500' },
    { key: 'spotmax:consul_enabled', value: 'false' },
  ]);
  t.is(parsed.settings.get('consul.enabled')?.value, false);
  t.is(parsed.settings.get('consul.enabled')?.key, 'spotmax:consul_enabled');
});

test('out-of-range and malformed values name tag, value and the allowed range', (t) => {
  for (const value of ['abc', '120', '-1', '1.5']) {
    t.deepEqual(parseGroupTags([{ key: 'spotmax:detaching_delay_seconds', value }]).errors, [
      `tag spotmax:detaching_delay_seconds="${value}": expected a whole number of seconds from 0 to 119`,
    ]);
  }
  t.deepEqual(parseGroupTags([{ key: 'spotmax:standby_state', value: 'frozen' }]).errors, [
    'tag spotmax:standby_state="frozen": expected one of stopped, hibernated',
  ]);
});

test('the two spellings of guarantee_living_mins must agree', (t) => {
  const parsed = parseGroupTags([
    { key: 'spotmax:gurantee_living_mins', value: '50' },
    { key: 'spotmax:guarantee_living_mins', value: '40' },
  ]);
  t.is(parsed.errors.length, 1);
  t.regex(parsed.errors[0]!, /disagree about lifetime\.guaranteeMinutes/);
});

test('unknown spotmax keys warn with the closest key; state tags and foreign tags are ignored', (t) => {
  const parsed = parseGroupTags([
    { key: 'spotmax:detach_delay', value: '20' },
    { key: 'spotmax:group', value: 'web' },
    { key: 'spotmax:standby-for', value: 'web' },
    { key: 'spotmax:interrupted-at', value: '2024-01-01T00:00:00Z' },
    { key: 'spotmax:retire-requested', value: 'x' },
    { key: 'spotmax:replacement', value: 'x' },
    { key: 'spotmax:fallback-original', value: '{}' },
    { key: 'spotmax:volume', value: 'vol-1' },
    { key: 'team', value: 'platform' },
  ]);
  t.deepEqual(parsed.errors, []);
  t.deepEqual(parsed.warnings, [
    'unknown tag spotmax:detach_delay="20" ignored; the closest known key is spotmax:detaching_delay_seconds',
  ]);
});
