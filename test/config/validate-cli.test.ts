import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { main } from '../../src/main.js';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function run(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(args, {}, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spotmax-validate-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('validate accepts the example policies (exit 0)', async (t) => {
  const r = await run(['validate', 'policies']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^ok: 4 policies in 3 files\n$/);
});

test('validate prints every error as file:line:col: message and exits 1', async (t) => {
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
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
  const r = await run(['validate', join(dir, 'missing')]);
  t.is(r.code, 1);
  t.regex(r.stdout, /missing:1:1: no such file or folder/);
});
