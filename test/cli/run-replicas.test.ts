import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runMain } from '../helpers/cli.js';

// `run` on AWS, in this process, with no AWS behind it (a closed port answers every call with a refused
// connection at once): what it says at start about replicas. Stopped as ECS stops it, by SIGTERM (here
// emitted in-process: the command's shutdown listener aborts, the service stops, main returns 0).

async function runBriefly(env: Record<string, string>) {
  const policies = await mkdtemp(join(tmpdir(), 'spotmax-run-replicas-'));
  const listening = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
  const run = runMain(['run', '--cloud', 'aws', '--port', '0', '--grace', '1'], {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SPOTMAX_POLICIES: policies,
    SPOTMAX_QUEUE_URL: 'http://127.0.0.1:1/000000000000/spotmax',
    ...env,
  });
  // Once the command listens (before the service starts; a signal that came early stops it right after
  // start()), SIGTERM as ECS sends it.
  while (process.listeners('SIGTERM').length <= listening.SIGTERM.length)
    await new Promise((r) => setTimeout(r, 20));
  process.emit('SIGTERM', 'SIGTERM');
  const r = await run;
  // The command's listeners stay on the process: drop them, or the next run's SIGTERM is a second one
  // to them (which exits at once, as an operator's second Ctrl-C does).
  for (const name of ['SIGTERM', 'SIGINT'] as const)
    for (const l of process.listeners(name)) if (!listening[name].includes(l)) process.off(name, l);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; level?: number | string });
  return { ...r, lines };
}

const NO_TABLE = /no coordination table \(--coordination-table\): run one replica only; two would act twice/;

test.serial('run without a coordination table says that a second replica would act twice', async (t) => {
  const r = await runBriefly({});
  t.is(r.code, 0, r.stderr);
  t.true(
    r.lines.some((l) => NO_TABLE.test(l.msg ?? '')),
    r.stdout.slice(0, 2000),
  );
});

test.serial(
  'run reads SPOTMAX_COORDINATION_TABLE: with it, the replica coordinates (no such line)',
  async (t) => {
    const r = await runBriefly({ SPOTMAX_COORDINATION_TABLE: 'spotmax-coordination' });
    t.is(r.code, 0, r.stderr);
    t.false(r.lines.some((l) => NO_TABLE.test(l.msg ?? '')));
    // It asked the table for the leader lease (refused here: nothing listens on the endpoint).
    t.true(
      r.lines.some((l) => /renewing the leader lease failed/.test(l.msg ?? '')),
      r.stdout.slice(0, 2000),
    );
  },
);
