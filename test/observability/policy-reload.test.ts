import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createPolicyWatcher, type PolicyIssueLike, policyReadiness } from '../../src/config/watch.js';
import { runChecks } from '../../src/observability/checks.js';
import { startHealthServer } from '../../src/observability/health-server.js';
import { PrometheusRegistry } from '../../src/observability/prometheus.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Logger } from '../../src/ports/logger.js';

// A stand-in for config/load.ts with the same contract: every *.yaml file is a policy `name: <x>`;
// a line `oops` is an error reported at its line and column.
interface Set {
  policies: string[];
  issues: PolicyIssueLike[];
}
async function load(paths: string[]): Promise<Set> {
  const set: Set = { policies: [], issues: [] };
  for (const dir of paths) {
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
      const file = join(dir, name);
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((text, i) => {
        const col = text.indexOf('oops');
        if (col >= 0) set.issues.push({ file, line: i + 1, col: col + 1, message: 'unknown field "oops"' });
        const m = /^name: (\S+)/.exec(text);
        if (m?.[1]) set.policies.push(m[1]);
      });
    }
  }
  return set;
}

function capture() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const logger: Logger = {
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    debug: () => {},
    child: () => logger,
  };
  return { logger, lines };
}

async function setup(opts: { pollMs?: number; useFsWatch?: boolean } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'spotmax-watch-'));
  const dir = join(root, 'policies');
  await mkdir(dir);
  await writeFile(join(dir, 'web.yaml'), 'name: web\n');
  const { logger, lines } = capture();
  const metrics = new PrometheusRegistry({ processMetrics: false });
  const applied: string[][] = [];
  const watcher = createPolicyWatcher({
    dir,
    load,
    logger,
    metrics,
    clock: systemClock,
    onChange: (set) => {
      applied.push(set.policies);
    },
    debounceMs: 20,
    pollMs: opts.pollMs ?? 0,
    useFsWatch: opts.useFsWatch ?? false,
  });
  return {
    root,
    dir,
    watcher,
    lines,
    metrics,
    applied,
    cleanup: async () => {
      await watcher.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function until(cond: () => boolean, ms = 3000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the first load applies the policies and reports ready', async (t) => {
  const s = await setup();
  try {
    const status = await s.watcher.start();
    t.true(status.ok);
    t.is(status.policies, 1);
    t.true(status.loadedAt instanceof Date);
    t.deepEqual(s.applied, [['web']]);
    t.regex(await s.metrics.exposition(), /^spotmax_policies_loaded 1$/m);
  } finally {
    await s.cleanup();
  }
});

test('a valid change is applied without a restart; an unchanged folder is not reloaded', async (t) => {
  const s = await setup();
  try {
    await s.watcher.start();
    await s.watcher.check();
    t.is(s.applied.length, 1, 'nothing changed, nothing reloaded');
    await writeFile(join(s.dir, 'batch.yaml'), 'name: batch\n');
    const status = await s.watcher.check();
    t.true(status.ok);
    t.is(status.policies, 2);
    t.deepEqual(s.applied.at(-1), ['batch', 'web']);
    t.deepEqual(s.watcher.current()?.policies, ['batch', 'web']);
    t.regex(await s.metrics.exposition(), /^spotmax_policy_reloads_total 1$/m);
  } finally {
    await s.cleanup();
  }
});

test('an invalid change keeps the last good policies, logs each error with file:line:col, counts it, and /readyz reports it', async (t) => {
  const s = await setup();
  const metrics = new PrometheusRegistry({ processMetrics: false });
  const server = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    checks: {
      live: () => ({ ok: true, checks: {} }),
      ready: () =>
        runChecks({ policies: () => policyReadiness(s.watcher) }, { clock: systemClock, timeoutMs: 1000 }),
    },
    metrics,
    logger: capture().logger,
  });
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    return {
      status: res.status,
      body: (await res.json()) as { checks: { policies: { ok: boolean; message: string } } },
    };
  };
  try {
    await s.watcher.start();
    t.is((await readyz()).status, 200);

    const bad = join(s.dir, 'web.yaml');
    await writeFile(bad, 'name: web2\n  oops: 1\nname: web3\noops\n');
    const status = await s.watcher.check();
    t.false(status.ok);
    t.is(status.policies, 1, 'the old set is still in force');
    t.deepEqual(s.watcher.current()?.policies, ['web']);
    t.is(s.applied.length, 1, 'onChange not called for the invalid set');
    t.deepEqual(status.errors, [`${bad}:2:3: unknown field "oops"`, `${bad}:4:1: unknown field "oops"`]);
    t.is(status.lastError, `${bad}:2:3: unknown field "oops" (and 1 more)`);
    const logged = s.lines.filter((l) => l.level === 'error').map((l) => l.msg ?? '');
    t.true(logged.includes(`policy error: ${bad}:2:3: unknown field "oops"`));
    t.true(logged.includes(`policy error: ${bad}:4:1: unknown field "oops"`));
    t.regex(await s.metrics.exposition(), /^spotmax_policy_reload_failures_total 1$/m);

    const r = await readyz();
    t.is(r.status, 503);
    t.false(r.body.checks.policies.ok);
    t.regex(
      r.body.checks.policies.message,
      /web\.yaml:2:3: unknown field "oops" \(and 1 more\) \(still running the 1 policies loaded before\)/,
    );

    // Fixing the file makes it ready again with the new policies.
    await writeFile(bad, 'name: web-fixed\n');
    t.true((await s.watcher.check()).ok);
    t.deepEqual(s.watcher.current()?.policies, ['web-fixed']);
    t.is((await readyz()).status, 200);
  } finally {
    await server.close();
    await s.cleanup();
  }
});

test('a policy folder that becomes unreadable keeps the last good set and says why', async (t) => {
  const s = await setup();
  try {
    await s.watcher.start();
    await rename(s.dir, `${s.dir}.gone`);
    const status = await s.watcher.check();
    t.false(status.ok);
    t.is(status.policies, 1);
    t.regex(status.lastError ?? '', /policies: .*ENOENT/);
    // Reported once, not at every poll.
    await s.watcher.check();
    t.regex(await s.metrics.exposition(), /^spotmax_policy_reload_failures_total 1$/m);
    await rename(`${s.dir}.gone`, s.dir);
    await writeFile(join(s.dir, 'web.yaml'), 'name: back\n');
    t.true((await s.watcher.check()).ok);
  } finally {
    await s.cleanup();
  }
});

test('an invalid first load reports not ready and applies nothing', async (t) => {
  const s = await setup();
  try {
    await writeFile(join(s.dir, 'web.yaml'), 'oops\n');
    const status = await s.watcher.start();
    t.false(status.ok);
    t.is(status.policies, 0);
    t.is(s.applied.length, 0);
    t.is(s.watcher.current(), undefined);
    t.is(policyReadiness(s.watcher).message, `${join(s.dir, 'web.yaml')}:1:1: unknown field "oops"`);
  } finally {
    await s.cleanup();
  }
});

test('an onChange that throws rejects the set like an invalid one', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'spotmax-watch-'));
  await writeFile(join(root, 'a.yaml'), 'name: a\n');
  let calls = 0;
  const watcher = createPolicyWatcher({
    dir: root,
    load,
    logger: capture().logger,
    metrics: new PrometheusRegistry({ processMetrics: false }),
    clock: systemClock,
    onChange: () => {
      calls++;
      if (calls === 2) throw new Error('reconciler refused');
    },
    pollMs: 0,
    useFsWatch: false,
  });
  try {
    t.true((await watcher.start()).ok);
    await writeFile(join(root, 'b.yaml'), 'name: b\n');
    const status = await watcher.check();
    t.false(status.ok);
    t.regex(status.lastError ?? '', /applying the policies failed: reconciler refused/);
    t.deepEqual(watcher.current()?.policies, ['a']);
  } finally {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('fs.watch picks up an edit by itself', async (t) => {
  const s = await setup({ useFsWatch: true });
  try {
    await s.watcher.start();
    await writeFile(join(s.dir, 'edit.yaml'), 'name: edit\n');
    await until(() => s.watcher.status().policies === 2);
    t.deepEqual(s.applied.at(-1), ['edit', 'web']);
  } finally {
    await s.cleanup();
  }
});

test('polling catches a git-sync style symlink swap that inotify does not report', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'spotmax-gitsync-'));
  // git-sync v4 layout: <root>/.worktrees/<sha>/ and <root>/current -> .worktrees/<sha>
  await mkdir(join(root, '.worktrees', 'aaa', 'policies'), { recursive: true });
  await writeFile(join(root, '.worktrees', 'aaa', 'policies', 'web.yaml'), 'name: v1\n');
  await symlink(join('.worktrees', 'aaa'), join(root, 'current'));
  const applied: string[][] = [];
  const watcher = createPolicyWatcher({
    dir: join(root, 'current', 'policies'),
    load,
    logger: capture().logger,
    metrics: new PrometheusRegistry({ processMetrics: false }),
    clock: systemClock,
    onChange: (set) => {
      applied.push(set.policies);
    },
    pollMs: 30,
    useFsWatch: false,
  });
  try {
    await watcher.start();
    t.deepEqual(applied, [['v1']]);
    await mkdir(join(root, '.worktrees', 'bbb', 'policies'), { recursive: true });
    await writeFile(join(root, '.worktrees', 'bbb', 'policies', 'web.yaml'), 'name: v2\n');
    await symlink(join('.worktrees', 'bbb'), join(root, 'current.tmp'));
    await rename(join(root, 'current.tmp'), join(root, 'current'));
    await until(() => applied.length === 2);
    t.deepEqual(applied[1], ['v2']);
  } finally {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('with the real loader: a bad field is rejected at its position and the good policy stays', async (t) => {
  const { loadPolicies, formatIssue } = await import('../../src/config/load.js');
  const root = await mkdtemp(join(tmpdir(), 'spotmax-watch-real-'));
  const file = join(root, 'web.yaml');
  const good =
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata:\n  name: web\nspec:\n  interruption:\n    detachDelaySeconds: 20\n';
  await writeFile(file, good);
  const { logger, lines } = capture();
  const watcher = createPolicyWatcher({
    dir: root,
    load: loadPolicies,
    formatIssue,
    logger,
    metrics: new PrometheusRegistry({ processMetrics: false }),
    clock: systemClock,
    onChange: () => {},
    pollMs: 0,
    useFsWatch: false,
  });
  try {
    const first = await watcher.start();
    t.true(first.ok, first.lastError);
    t.is(first.policies, 1);
    await writeFile(file, good.replace('detachDelaySeconds: 20', 'detachDelaySeconds: 500'));
    const bad = await watcher.check();
    t.false(bad.ok);
    t.is(bad.policies, 1);
    t.regex(bad.lastError ?? '', new RegExp(`^${file.replace(/[.]/g, '\\.')}:7:\\d+: .*detachDelaySeconds`));
    t.true(lines.some((l) => l.level === 'error' && /web\.yaml:7:\d+:/.test(l.msg ?? '')));
    t.is(watcher.current()?.policies[0]?.policy.spec.interruption.detachDelaySeconds, 20);
  } finally {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a single policy file instead of a folder is watched too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'spotmax-watch-file-'));
  const file = join(root, 'only.yaml');
  await writeFile(file, 'name: one\n');
  const applied: string[][] = [];
  const loadFile = async (paths: string[]): Promise<Set> => {
    const text = await readFile(paths[0] as string, 'utf8');
    return { policies: [/^name: (\S+)/.exec(text)?.[1] ?? '?'], issues: [] };
  };
  const watcher = createPolicyWatcher({
    dir: file,
    load: loadFile,
    logger: capture().logger,
    metrics: new PrometheusRegistry({ processMetrics: false }),
    clock: systemClock,
    onChange: (set) => {
      applied.push(set.policies);
    },
    pollMs: 0,
    useFsWatch: false,
  });
  try {
    await watcher.start();
    await writeFile(file, 'name: two-longer\n');
    t.true((await watcher.check()).ok);
    t.deepEqual(applied, [['one'], ['two-longer']]);
  } finally {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
  }
});
