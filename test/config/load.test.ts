import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { formatIssue, loadPolicies, loadPoliciesFromText } from '../../src/config/load.js';
import { useTempDir } from './support.js';

const doc = (name: string, spec = '') =>
  `apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata:\n  name: ${name}\nspec:\n  dryRun: false\n${spec}`;

const tmp = useTempDir(test, 'load');

test('a wrong-typed value is reported at its line and column with the allowed range', (t) => {
  const set = loadPoliciesFromText(
    doc('web', '  interruption:\n    detachDelaySeconds: "twenty"\n'),
    'w.yaml',
  );
  t.deepEqual(set.issues.map(formatIssue), [
    'w.yaml:8:25: spec.interruption.detachDelaySeconds: expected a whole number of seconds from 0 to 119, got "twenty"',
  ]);
  t.is(set.policies.length, 0);
});

test('an out-of-range value names the range', (t) => {
  const set = loadPoliciesFromText(doc('web', '  interruption: { detachDelaySeconds: 120 }\n'), 'w.yaml');
  t.deepEqual(set.issues.map(formatIssue), [
    'w.yaml:7:39: spec.interruption.detachDelaySeconds: expected a whole number of seconds from 0 to 119, got 120',
  ]);
});

test('an unknown field points at the key and names the closest known one', (t) => {
  const set = loadPoliciesFromText(
    doc('web', '  interruption:\n    detachDelaySecs: 20\n  standbi: {}\n'),
    'w.yaml',
  );
  t.deepEqual(set.issues.map(formatIssue), [
    'w.yaml:8:5: unknown field "detachDelaySecs" in spec.interruption; did you mean "detachDelaySeconds"?',
    'w.yaml:9:3: unknown field "standbi" in spec; did you mean "standby"?',
  ]);
});

test('an unknown field with nothing close lists the known fields', (t) => {
  const set = loadPoliciesFromText(doc('web', '  standby: { zzzzzzzz: 1 }\n'), 'w.yaml');
  t.is(set.issues.length, 1);
  t.is(
    set.issues[0]!.message,
    'unknown field "zzzzzzzz" in spec.standby; known: size, state, startTimeoutSeconds, readiness',
  );
});

test('broken YAML is reported with its position, and the other documents still load', (t) => {
  const text = `${doc('good')}---\napiVersion: spotmax/v1\nkind: [GroupPolicy\n---\n${doc('also-good')}`;
  const set = loadPoliciesFromText(text, 'b.yaml');
  t.is(set.issues.length, 1);
  t.is(set.issues[0]!.file, 'b.yaml');
  t.is(set.issues[0]!.line, 10);
  t.regex(set.issues[0]!.message, /^invalid YAML: /);
  t.deepEqual(
    set.policies.map((p) => p.name),
    ['good', 'also-good'],
  );
});

test('a missing required field and a wrong kind are both reported', (t) => {
  const set = loadPoliciesFromText('kind: Policy\nmetadata: { name: x }\n', 'k.yaml');
  t.deepEqual(set.issues.map(formatIssue), [
    'k.yaml:1:1: apiVersion: required field is missing (expected "spotmax/v1")',
    'k.yaml:1:7: kind: expected "GroupPolicy", got "Policy"',
  ]);
});

test('line() finds a setting, or the nearest enclosing node', (t) => {
  const set = loadPoliciesFromText(
    doc('web', '  standby:\n    size: 2\n  lifetime: { durationHours: 4 }\n'),
    'l.yaml',
  );
  const p = set.policies[0]!;
  t.is(p.line('standby.size'), 8);
  t.is(p.line('lifetime.durationHours'), 9);
  t.is(p.line('standby.state'), 7);
  t.is(p.line('consul.port'), 5);
  t.deepEqual(p.at, { line: 4, col: 9 });
  t.is(p.policy.spec.standby.size, 2);
  t.is(p.policy.spec.standby.state, 'stopped');
});

test('a folder loads recursively and sorted, several documents a file, duplicate names at both places', async (t) => {
  const root = join(tmp(), 'folder');
  await mkdir(join(root, 'teams', '.hidden'), { recursive: true });
  await writeFile(join(root, 'b.yaml'), `${doc('web')}---\n${doc('batch')}`);
  await writeFile(join(root, 'teams', 'a.yml'), doc('web'));
  await writeFile(join(root, 'teams', '.hidden', 'x.yaml'), 'not: [valid');
  await writeFile(join(root, 'notes.txt'), 'ignored');
  const set = await loadPolicies([root]);
  t.deepEqual(set.files, [join(root, 'b.yaml'), join(root, 'teams', 'a.yml')]);
  t.deepEqual(
    set.policies.map((p) => p.name),
    ['web', 'batch', 'web'],
  );
  t.deepEqual(set.issues.map(formatIssue), [
    `${join(root, 'b.yaml')}:4:9: duplicate policy name "web", also defined at ${join(root, 'teams', 'a.yml')}:4:9`,
    `${join(root, 'teams', 'a.yml')}:4:9: duplicate policy name "web", also defined at ${join(root, 'b.yaml')}:4:9`,
  ]);
});

test('all errors of all files at once; a missing path is an error too', async (t) => {
  const one = join(tmp(), 'one.yaml');
  const two = join(tmp(), 'two.yaml');
  await writeFile(one, doc('one', '  standby: { size: many }\n'));
  await writeFile(two, doc('two', '  consul: { port: 0, timeoutSecond: 5 }\n'));
  const set = await loadPolicies([one, two, join(tmp(), 'nope')]);
  t.deepEqual(set.issues.map(formatIssue), [
    `${join(tmp(), 'nope')}:1:1: no such file or folder`,
    `${one}:7:20: spec.standby.size: expected a whole number from 0 to 100, got "many"`,
    `${two}:7:19: spec.consul.port: expected a whole number from 1 to 65535, got 0`,
    `${two}:7:22: unknown field "timeoutSecond" in spec.consul; did you mean "timeoutSeconds"?`,
  ]);
});
