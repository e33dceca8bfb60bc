import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestFn } from 'ava';

/** A CommandIO whose stdout and stderr are kept as strings. */
export function captureIO() {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk, _enc, done) {
        into.push(String(chunk));
        done();
      },
    });
  return {
    io: { env: {}, stdout: sink(out), stderr: sink(err) },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** A temporary folder for the tests of one file, removed afterwards even when tests fail. */
export function useTempDir(test: TestFn, prefix: string): () => string {
  let dir = '';
  test.before(async () => {
    dir = await mkdtemp(join(tmpdir(), `spotmax-${prefix}-`));
  });
  test.after.always(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}
