import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { runMain } from '../helpers/cli.js';
import { useTempDir } from './support.js';

const run = (args: string[]) => runMain(args);

const tmp = useTempDir(test, 'validate');

test('validate accepts the example policies (exit 0)', async (t) => {
  const r = await run(['validate', 'policies']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^ok: 4 policies in 3 files\n$/);
});

test('validate prints every error as file:line:col: message and exits 1', async (t) => {
  const a = join(tmp(), 'a.yaml');
  const b = join(tmp(), 'b.yaml');
  await writeFile(
    a,
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: web }\nspec:\n  interruption: { detachDelaySecs: 20 }\n',
  );
  await writeFile(
    b,
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: web }\nspec: { standby: { size: x } }\n',
  );
  const r = await run(['validate', a, b]);
  t.is(r.code, 1);
  t.is(
    r.stdout,
    [
      `${a}:5:19: unknown field "detachDelaySecs" in spec.interruption; did you mean "detachDelaySeconds"?`,
      `${b}:4:26: spec.standby.size: expected a whole number from 0 to 100, got "x"`,
      '2 errors in 2 files; 0 policies valid',
      '',
    ].join('\n'),
  );
});

test('validate of a path with no policy files fails instead of saying ok', async (t) => {
  const r = await run(['validate', join(tmp(), 'missing')]);
  t.is(r.code, 1);
  t.regex(r.stdout, /missing:1:1: no such file or folder/);
});

test('import-legacy through main(): exit 0 with YAML on stdout, exit 1 on broken JSON', async (t) => {
  const ok = await run(['import-legacy', 'test/fixtures/legacy/service_config.json']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^# yaml-language-server/);
  t.regex(ok.stderr, /--queue-url https:\/\//);
  const bad = join(tmp(), 'broken.json');
  await writeFile(bad, '{"groups": ');
  const ko = await run(['import-legacy', bad]);
  t.is(ko.code, 1);
  t.regex(ko.stderr, /broken\.json is not valid JSON/);
});
