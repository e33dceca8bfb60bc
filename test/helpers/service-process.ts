import { type ChildProcess, spawn } from 'node:child_process';

// `spotmax` in its own process, as ECS runs it, driven only from outside: its JSON log lines, its exit.
// Needs `npm run build` (npm test does it).

export interface LogWatcher {
  lines: Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

/** Collects a child's JSON log lines (stdout) and resolves waiters when one matches. */
export function logWatcher(child: ChildProcess): LogWatcher {
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters])
          if (w.pred(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
      } catch {
        // not a log line
      }
    }
  });
  return {
    lines,
    waitFor(pred, ms = 60_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching log line within ${ms} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
              ),
            ),
          ms,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Polls `fn` every 250 ms (or `everyMs`) until it gives a value; throws naming `what` after `ms`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 30_000,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ServiceProcess {
  child: ChildProcess;
  logs: LogWatcher;
  exited: Promise<number | null>;
  stderr(): string;
  pid: number;
}

/** Starts `node bin/spotmax.js ...args` with `env`; killed with SIGKILL at `teardown` if still running. */
export function startSpotmax(
  args: string[],
  env: NodeJS.ProcessEnv,
  teardown: (fn: () => void) => void,
): ServiceProcess {
  const child = spawn('node', ['bin/spotmax.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, logs: logWatcher(child), exited, stderr: () => stderr, pid: child.pid ?? 0 };
}
