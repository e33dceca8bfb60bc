import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { importLegacyCommand } from '../../src/cli/import-legacy.js';
import { convertLegacyConfig } from '../../src/config/legacy.js';
import { loadPolicies, loadPoliciesFromText } from '../../src/config/load.js';
import { resolveGroup } from '../../src/config/resolve.js';
import { group } from './groups.js';
import { captureIO, useTempDir } from './support.js';

const SAMPLE = new URL('../fixtures/legacy/service_config.json', import.meta.url);

const io = captureIO;
const tmp = useTempDir(test, 'legacy');

test('the documented sample converts to policies that validate, one per group', async (t) => {
  const r = convertLegacyConfig(JSON.parse(await readFile(SAMPLE, 'utf8')));
  t.deepEqual(r.errors, []);
  const set = loadPoliciesFromText(r.yaml, 'legacy.yaml');
  t.deepEqual(set.issues, []);
  t.deepEqual(
    set.policies.map((p) => [p.name, p.policy.spec.match?.names]),
    [
      ['spotmax_k8s', ['spotmax_k8s']],
      ['web-frontend', ['web-frontend']],
      ['kafka-data-nodes', ['kafka data nodes']],
    ],
  );
  const [k8s, web, kafka] = set.policies.map((p) => p.policy.spec);
  // The seed's misspelt key is read.
  t.is(k8s!.interruption.detachDelaySeconds, 20);
  t.is(k8s!.replacement.maxConcurrent, 2);
  t.is(k8s!.rebalance.action, 'ignore');
  t.is(k8s!.rebalance.terminateDelaySeconds, 10);
  t.is(k8s!.rebalance.detachDelaySeconds, 5);
  t.true(k8s!.kubernetes.enabled);
  t.is(k8s!.kubernetes.kubeconfig, '/data/spotmax/k8sconfig');
  t.is(web!.interruption.detachDelaySeconds, 45);
  t.is(web!.rebalance.action, 'replace');
  t.true(web!.consul.enabled);
  t.is(web!.consul.port, 8500);
  t.is(kafka!.persistentVolume.device, '/dev/sdf');
  t.is(kafka!.persistentVolume.snapshotIntervalMinutes, 30);
  t.is(web!.persistentVolume.snapshotIntervalMinutes, 0);
  t.deepEqual(r.queueUrls, ['https://sqs.us-east-2.amazonaws.com/123456789012/spot-interruption-notice']);
  t.deepEqual(
    r.otherQueues.map((q) => q.key),
    ['detach_evt_sqs', 'termination_evt_sqs'],
  );
  t.true(r.yaml.startsWith('# yaml-language-server: $schema=./schema.json\n'));
});

test('a converted policy is picked up by the group it names', async (t) => {
  const r = convertLegacyConfig(JSON.parse(await readFile(SAMPLE, 'utf8')));
  const set = loadPoliciesFromText(r.yaml, 'legacy.yaml');
  const resolved = resolveGroup(group('kafka data nodes', { 'spotmax:enabled': 'true' }), set);
  t.true(resolved.managed, resolved.unmanagedReason);
  t.is(resolved.policyName, 'kafka-data-nodes');
  t.regex(resolved.provenance['persistentVolume.device']!.source, /^policy:legacy\.yaml:\d+$/);
});

test('unknown keys at every level are listed, never dropped silently', (t) => {
  const r = convertLegacyConfig({
    system: { debug: true },
    global: {
      interruption_evt_sqs: { queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', max_messages: 5 },
      role_arn: 'arn:aws:iam::1:role/x',
    },
    groups: { web: { detaching_delay_seconds: 10, detach_delay: 3 } },
    extra: 1,
  });
  t.deepEqual(r.errors, []);
  t.deepEqual(r.unknown, [
    'extra: unknown key, not converted; known: system, global, groups',
    'system.debug: unknown key, not converted',
    'global.role_arn: unknown key, not converted; known: interruption_evt_sqs, detach_evt_sqs, termination_evt_sqs, preaction_snapshot_interval_minutes',
    'global.interruption_evt_sqs.max_messages: unknown key, not converted; did you mean "max_number_of_messages"?',
    r.unknown[4]!,
  ]);
  t.is(
    r.unknown[4],
    'groups.web.detach_delay: unknown key, not converted; did you mean "detaching_delay_seconds"?',
  );
  for (const u of r.unknown) t.true(r.yaml.includes(`# not converted: ${u}`));
});

test('groups may be a list; booleans and numbers may be strings; a missing delay gets the seed default', (t) => {
  const r = convertLegacyConfig({
    groups: [
      { name: 'a', is_enable_preaction: 'true', max_num_of_terminated_one_time: '3' },
      {
        asg_name: 'b',
        dettaching_delay_seconds: '30',
        k8s_node_drain_option: '--ignore-daemonsets',
        k8s_config_file_path: '/k',
      },
    ],
  });
  t.deepEqual(r.errors, []);
  const set = loadPoliciesFromText(r.yaml, 'x.yaml');
  t.deepEqual(set.issues, []);
  const [a, b] = set.policies.map((p) => p.policy.spec);
  t.is(a!.rebalance.action, 'replace');
  t.is(a!.rebalance.detachDelaySeconds, 10);
  t.is(a!.replacement.maxConcurrent, 3);
  t.is(a!.interruption.detachDelaySeconds, 20);
  t.true(
    r.notes.some((n) =>
      n.startsWith("groups.a: no detaching_delay_seconds; wrote max_group's default, 20 s"),
    ),
  );
  t.is(b!.interruption.detachDelaySeconds, 30);
  t.is(b!.kubernetes.drainOption, '--ignore-daemonsets');
  t.is(b!.kubernetes.kubeconfig, '/k');
  t.true(b!.kubernetes.enabled);
});

test('values spotmax cannot honour are errors naming group, key, value and range', (t) => {
  const r = convertLegacyConfig({
    groups: {
      web: { dettaching_delay_seconds: 150, consul_port: 'x' },
      api: { detaching_delay_seconds: 10, dettaching_delay_seconds: 20 },
      list: [],
    },
  });
  t.deepEqual(r.errors, [
    'groups.list: expected an object of options, got []',
    'groups.web.dettaching_delay_seconds=150: expected a whole number of seconds from 0 to 119',
    'groups.web.consul_port="x": expected a whole number from 1 to 65535',
    'groups.api: detaching_delay_seconds=10 and dettaching_delay_seconds=20 disagree',
  ]);
});

test('import-legacy writes YAML to stdout and the report to stderr', async (t) => {
  const c = io();
  const code = await importLegacyCommand(SAMPLE.pathname, {}, c.io);
  t.is(code, 0, c.stderr());
  t.true(c.stdout().startsWith('# yaml-language-server'));
  t.false(c.stdout().includes('run spotmax with:'));
  t.regex(
    c.stderr(),
    /run spotmax with:\n {2}--queue-url https:\/\/sqs\.us-east-2\.amazonaws\.com\/123456789012\/spot-interruption-notice\n/,
  );
  t.regex(
    c.stderr(),
    /not converted \(1 unknown key\(s\)\):\n {2}- groups\["kafka data nodes"\]\.warmup_seconds/,
  );
});

test('import-legacy -o writes a file that spotmax validate accepts, and reports on stdout', async (t) => {
  const out = join(tmp(), 'legacy.yaml');
  const c = io();
  t.is(await importLegacyCommand(SAMPLE.pathname, { out }, c.io), 0);
  t.regex(c.stdout(), /^converted 3 groups from .* into .*legacy\.yaml\n/);
  t.is(c.stderr(), '');
  const set = await loadPolicies([out]);
  t.deepEqual(set.issues, []);
  t.is(set.policies.length, 3);
});

test('import-legacy: bad JSON, a missing file and bad values exit 1 with a clear message', async (t) => {
  const bad = join(tmp(), 'bad.json');
  await writeFile(bad, '{\n  "groups": {\n    "web": { "detaching_delay_seconds": 20, }\n  }\n}\n');
  const c = io();
  t.is(await importLegacyCommand(bad, {}, c.io), 1);
  t.regex(c.stderr(), /^spotmax import-legacy: .*bad\.json is not valid JSON: .*line 3/);
  t.is(c.stdout(), '');

  const m = io();
  t.is(await importLegacyCommand(join(tmp(), 'nope.json'), {}, m.io), 1);
  t.regex(m.stderr(), /nope\.json: no such file/);

  const range = join(tmp(), 'range.json');
  await writeFile(range, JSON.stringify({ groups: { web: { detaching_delay_seconds: 'abc' } } }));
  const r = io();
  t.is(await importLegacyCommand(range, {}, r.io), 1);
  t.regex(
    r.stderr(),
    /groups\.web\.detaching_delay_seconds="abc": expected a whole number of seconds from 0 to 119/,
  );
  t.regex(r.stderr(), /nothing written/);
  t.is(r.stdout(), '');
});
