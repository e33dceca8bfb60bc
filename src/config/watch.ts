import { type FSWatcher, watch } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../domain/errors.js';
import { MetricNames } from '../observability/metric-names.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import { every } from '../timing/every.js';

// GitOps policy reload: `spotmax run` watches its policy folder and applies a change without a restart.
// A change is validated first; an invalid one (or a folder that became unreadable) keeps the last good
// policies in force, logs every error with file:line:col, counts PolicyReloadFailures and makes /readyz
// report it. fs.watch catches edits at once; polling a fingerprint (real path + every file's mtime and
// size) catches what inotify cannot see, such as git-sync swapping the `current` symlink to a new
// worktree, or a volume whose events do not reach the container.

export interface PolicyIssueLike {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** The shape of config/load.ts's PolicySet that the watcher relies on. */
export interface PolicySetLike {
  policies: unknown;
  issues: readonly PolicyIssueLike[];
}

export interface PolicyWatcherStatus {
  /** False while the last load failed (the last good policies, if any, are still in force). */
  ok: boolean;
  lastError?: string;
  /** Every error of the last failed load, as file:line:col: message. */
  errors?: string[];
  /** When the policies in force were loaded. */
  loadedAt?: Date;
  /** How many policies are in force. */
  policies: number;
}

export interface PolicyWatcherOptions<S extends PolicySetLike> {
  dir: string;
  load: (paths: string[]) => Promise<S>;
  logger: Logger;
  metrics: MetricsPort;
  clock: Clock;
  /** Called with each valid set, the first one included; a throw rejects the set like an invalid one. */
  onChange: (set: S) => void | Promise<void>;
  /** Quiet time after a file event before reloading, so a checkout of many files is one reload. */
  debounceMs?: number;
  /** Fingerprint poll interval; 0 turns polling off. */
  pollMs?: number;
  /** Use fs.watch as well as polling (default true). */
  useFsWatch?: boolean;
  formatIssue?: (issue: PolicyIssueLike) => string;
}

export interface PolicyWatcher<S extends PolicySetLike> {
  /** Loads once and starts watching; never throws (a failed first load is reported by status()). */
  start(): Promise<PolicyWatcherStatus>;
  /** Reloads when the folder's fingerprint changed since the last attempt, or always with `force`. */
  check(force?: boolean): Promise<PolicyWatcherStatus>;
  status(): PolicyWatcherStatus;
  /** The policy set in force, undefined until one loaded. */
  current(): S | undefined;
  close(): Promise<void>;
}

export const defaultFormatIssue = (i: PolicyIssueLike) => `${i.file}:${i.line}:${i.col}: ${i.message}`;

export function countPolicies(policies: unknown): number {
  if (Array.isArray(policies)) return policies.length;
  if (policies instanceof Map || policies instanceof Set) return policies.size;
  if (policies && typeof policies === 'object') return Object.keys(policies).length;
  return 0;
}

/** Real path of the folder plus path, mtime and size of every visible file under it (or of the file itself). */
export async function fingerprintFolder(dir: string): Promise<string> {
  const root = await realpath(dir);
  const top = await stat(root);
  // SPOTMAX_POLICIES may name a single file.
  if (top.isFile()) return `${root}\t${top.mtimeMs}\t${top.size}`;
  const entries: string[] = [];
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > 16) return;
    for (const ent of await readdir(abs, { withFileTypes: true })) {
      // .git, editor swap files and git-sync's .worktrees are not policies.
      if (ent.name.startsWith('.')) continue;
      const childAbs = join(abs, ent.name);
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      const info = await stat(childAbs).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) await walk(childAbs, childRel, depth + 1);
      else if (info.isFile()) entries.push(`${childRel}\t${info.mtimeMs}\t${info.size}`);
    }
  };
  await walk(root, '', 0);
  return `${root}\n${entries.sort().join('\n')}`;
}

export function createPolicyWatcher<S extends PolicySetLike>(
  options: PolicyWatcherOptions<S>,
): PolicyWatcher<S> {
  const { dir, load, logger, metrics, clock, onChange } = options;
  const debounceMs = options.debounceMs ?? 300;
  const pollMs = options.pollMs ?? 5000;
  const format = options.formatIssue ?? defaultFormatIssue;
  const log = logger.child({ component: 'policy-watcher', dir });

  let current: S | undefined;
  let state: PolicyWatcherStatus = { ok: false, lastError: 'policies not loaded yet', policies: 0 };
  let lastFingerprint: string | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let fsWatcher: FSWatcher | undefined;
  let debouncing = false;
  const abort = new AbortController();
  let pollLoop: Promise<void> = Promise.resolve();

  const fail = (errors: string[], why: string) => {
    const kept = current
      ? `keeping the ${countPolicies(current.policies)} policies loaded at ${state.loadedAt?.toISOString()}`
      : 'no policies in force';
    for (const e of errors) log.error({ error: e }, `policy error: ${e}`);
    log.error({ errors: errors.length }, `${why}; ${kept}`);
    metrics.record({ name: MetricNames.PolicyReloadFailures, value: 1, unit: 'Count' });
    const first = errors[0] ?? why;
    state = {
      ok: false,
      lastError: errors.length > 1 ? `${first} (and ${errors.length - 1} more)` : first,
      errors,
      policies: current ? countPolicies(current.policies) : 0,
      ...(state.loadedAt ? { loadedAt: state.loadedAt } : {}),
    };
  };

  const reload = async (fingerprint: string | undefined) => {
    lastFingerprint = fingerprint;
    let set: S;
    try {
      set = await load([dir]);
    } catch (err) {
      return fail([`${dir}: ${describeError(err)}`], `cannot read the policy folder ${dir}`);
    }
    if (set.issues.length > 0) {
      return fail(set.issues.map(format), `the policies in ${dir} have ${set.issues.length} error(s)`);
    }
    try {
      await onChange(set);
    } catch (err) {
      return fail(
        [`${dir}: applying the policies failed: ${describeError(err)}`],
        'the new policies could not be applied',
      );
    }
    const first = current === undefined;
    current = set;
    const n = countPolicies(set.policies);
    state = { ok: true, loadedAt: clock.now(), policies: n };
    metrics.record({ name: MetricNames.PoliciesLoaded, value: n, unit: 'None' });
    if (!first) metrics.record({ name: MetricNames.PolicyReloads, value: 1, unit: 'Count' });
    log.info({ policies: n }, first ? `loaded ${n} policies` : `reloaded ${n} policies without a restart`);
  };

  const check = (force = false): Promise<PolicyWatcherStatus> => {
    // Serialized: two reloads never run at once, and the last change always gets its own pass.
    const run = chain.then(async () => {
      let fingerprint: string;
      try {
        fingerprint = await fingerprintFolder(dir);
      } catch (err) {
        // An unreadable folder is reported once per distinct error, not at every poll.
        fingerprint = `unreadable: ${describeError(err)}`;
      }
      if (force || fingerprint !== lastFingerprint) await reload(fingerprint);
      return state;
    });
    chain = run.catch(() => undefined);
    return run;
  };

  const onFsEvent = () => {
    if (debouncing || abort.signal.aborted) return;
    debouncing = true;
    clock.sleep(debounceMs, abort.signal).then(
      () => {
        debouncing = false;
        void check();
      },
      () => {
        debouncing = false;
      },
    );
  };

  const startFsWatch = () => {
    try {
      fsWatcher = watch(dir, { recursive: true, persistent: false }, onFsEvent);
      fsWatcher.on('error', (err) => {
        log.warn({ err: describeError(err) }, 'watching the policy folder failed; relying on polling');
        fsWatcher?.close();
        fsWatcher = undefined;
      });
    } catch (err) {
      log.warn({ err: describeError(err) }, 'cannot watch the policy folder; relying on polling');
    }
  };

  return {
    async start() {
      const status = await check(true);
      if (options.useFsWatch ?? true) startFsWatch();
      if (pollMs > 0) {
        // check() never rejects for a bad folder or policy (it records the error in the status).
        pollLoop = every(
          clock,
          pollMs,
          async () => {
            await check();
          },
          abort.signal,
        );
      }
      return status;
    },
    check,
    status: () => ({ ...state, ...(state.errors ? { errors: [...state.errors] } : {}) }),
    current: () => current,
    async close() {
      abort.abort(new Error('policy watcher closed'));
      fsWatcher?.close();
      await pollLoop;
      await chain;
    },
  };
}

/** The watcher's status as a /readyz check: not ready while the last policy load failed. */
export function policyReadiness(watcher: Pick<PolicyWatcher<PolicySetLike>, 'status'>): {
  ok: boolean;
  message?: string;
} {
  const s = watcher.status();
  if (s.ok) return { ok: true, message: `${s.policies} policies loaded at ${s.loadedAt?.toISOString()}` };
  return {
    ok: false,
    message:
      s.policies > 0
        ? `${s.lastError} (still running the ${s.policies} policies loaded before)`
        : (s.lastError ?? 'policies not loaded'),
  };
}
