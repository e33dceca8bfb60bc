import { PassThrough } from 'node:stream';
import test from 'ava';
import { runSimDemo } from '../../src/simulate/demo.js';

// npm start runs `spotmax run --cloud sim`, which calls runSimDemo: driven here in-process.

test('the demo prints its first actions within a few seconds, serves /healthz and /metrics on loopback, and exits 0 on abort', async (t) => {
  const stdout = new PassThrough();
  let out = '';
  let firstAction: (() => void) | undefined;
  const sawAction = new Promise<void>((resolve) => {
    firstAction = resolve;
  });
  stdout.on('data', (d) => {
    out += d;
    // The first pass launches the standby pools: wait until one standby's launch is printed.
    if (/-> standby i-\w+ launched for /.test(out)) firstAction?.();
  });
  const ac = new AbortController();
  const started = Date.now();
  const run = runSimDemo(
    {
      speed: 30,
      signal: ac.signal,
      service: {
        pollers: 2,
        concurrency: 64,
        graceMs: 25_000,
        interval: '* * * * *',
        dryRun: false,
        port: 0,
      },
    },
    { env: {}, stdout, stderr: new PassThrough() },
  );
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no standby launch printed within 15 s:\n${out}`)), 15_000),
  );
  await Promise.race([sawAction, timeout]);
  t.true(Date.now() - started < 15_000);

  const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1]);
  t.true(port > 0);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.is(health.status, 200);
  t.is(((await health.json()) as { status: string }).status, 'ok');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.regex(metrics, /spotmax_sim_in_service\{group="web-asg"\} \d+/);

  ac.abort();
  t.is(await run, 0);
  t.regex(out, /spotmax demo: simulated region us-east-1, scenario "demo"/);
  t.regex(out, /stopped at \d\d:\d\d:\d\d \(simulated\): \d+ interruption/);
  t.regex(
    out,
    /^times are the simulated clock's \(UTC, from \d{4}-\d\d-\d\d \d\d:\d\d\), 30x faster than the wall clock$/m,
  );
  // Cause before effect: the reconciler's launch-standby line comes before the standby it launched.
  const lines = out.split('\n');
  const launched = lines.findIndex((l) => /-> standby i-\w+ launched for web-asg/.test(l));
  const cause = lines.findIndex((l) => /spotmax: launch-standby web-asg/.test(l));
  t.true(
    launched > 0 && cause >= 0 && cause < launched,
    `launch-standby at line ${cause}, its standby at ${launched}`,
  );
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`), undefined, 'the server is closed');
});
