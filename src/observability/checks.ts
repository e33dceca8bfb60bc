import { DeadlineError, describeError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import { withDeadline } from '../timing/deadline.js';

// Health results for /healthz and /readyz: named checks, each ok or not with a message that says why.

export interface CheckResult {
  ok: boolean;
  message?: string;
}

export interface HealthResult {
  ok: boolean;
  checks: Record<string, CheckResult>;
}

/** A check passes by returning (or returning {ok: true}); it fails by throwing or returning {ok: false}. */
// biome-ignore lint/suspicious/noConfusingVoidType: `async () => {}` (void) is the natural passing check
export type Check = () => Promise<CheckResult | undefined | void> | CheckResult | undefined | void;

/**
 * Runs the checks concurrently, each bounded by `timeoutMs` so a hung AWS call cannot hang /readyz
 * (ECS and load balancers give up after a few seconds and would see a timeout, not a reason).
 */
export async function runChecks(
  checks: Record<string, Check>,
  options: { clock: Clock; timeoutMs: number },
): Promise<HealthResult> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      try {
        const result = await withDeadline(async () => (await check()) ?? { ok: true }, {
          clock: options.clock,
          ms: options.timeoutMs,
          what: `check ${name}`,
        });
        return [name, result];
      } catch (err) {
        const message =
          err instanceof DeadlineError ? `no answer within ${options.timeoutMs} ms` : describeError(err);
        return [name, { ok: false, message }];
      }
    }),
  );
  const results = Object.fromEntries(entries);
  return { ok: entries.every(([, r]) => r.ok), checks: results };
}

/**
 * Liveness: each long-running loop (reconcile, event receive) beats after every turn; /healthz fails
 * when a registered loop has not beaten within its allowance, which is what "loops ticking" means.
 */
export function createHeartbeats(clock: Clock) {
  const loops = new Map<string, { staleAfterMs: number; last: Date }>();
  return {
    register(name: string, staleAfterMs: number): void {
      loops.set(name, { staleAfterMs, last: clock.now() });
    },
    beat(name: string): void {
      const loop = loops.get(name);
      if (loop) loop.last = clock.now();
    },
    unregister(name: string): void {
      loops.delete(name);
    },
    live(): HealthResult {
      const now = clock.now().getTime();
      const checks: Record<string, CheckResult> = {};
      for (const [name, loop] of loops) {
        const age = now - loop.last.getTime();
        checks[name] =
          age <= loop.staleAfterMs
            ? { ok: true }
            : {
                ok: false,
                message: `last turn ${Math.round(age / 1000)} s ago (allowed ${Math.round(loop.staleAfterMs / 1000)} s)`,
              };
      }
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },
  };
}

export type Heartbeats = ReturnType<typeof createHeartbeats>;
