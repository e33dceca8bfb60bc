import { describeError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../ports/releaser.js';

export interface RunReleasersOptions {
  clock: Clock;
  /** Per-step cap in ms, on top of the request deadline (whichever comes first). */
  stepTimeoutMs?: number;
}

/**
 * Runs a group's release steps in parallel, each bounded by its own timeout and by the deadline.
 * Never throws: a step that fails or overruns is reported as such, so the detach that follows is
 * never held back by a release step.
 */
export async function runReleasers(
  releasers: readonly Releaser[],
  req: Omit<ReleaseRequest, 'signal'> & { signal?: AbortSignal },
  options: RunReleasersOptions,
): Promise<ReleaseOutcome[]> {
  const { clock } = options;
  return Promise.all(
    releasers.map(async (releaser): Promise<ReleaseOutcome> => {
      const started = clock.now().getTime();
      const untilDeadline = req.deadline.getTime() - started;
      const budget = Math.min(untilDeadline, options.stepTimeoutMs ?? Number.POSITIVE_INFINITY);
      if (budget <= 0) {
        return { step: releaser.name, status: 'skipped', durationMs: 0, detail: 'deadline already passed' };
      }
      const controller = new AbortController();
      const onOuterAbort = () => controller.abort(req.signal?.reason);
      req.signal?.addEventListener('abort', onOuterAbort, { once: true });
      const timer = new AbortController();
      const timeout = clock.sleep(budget, timer.signal).then(
        (): ReleaseOutcome => {
          controller.abort(new Error(`${releaser.name} timed out after ${budget} ms`));
          return {
            step: releaser.name,
            status: 'partial',
            durationMs: clock.now().getTime() - started,
            detail: `stopped at its time limit (${Math.round(budget)} ms)`,
          };
        },
        () => undefined as never,
      );
      try {
        // Through a then() so a releaser that throws synchronously is still an outcome, not a throw.
        const work = Promise.resolve()
          .then(() => releaser.release({ ...req, signal: controller.signal }))
          .catch(
            (err): ReleaseOutcome => ({
              step: releaser.name,
              status: 'failed',
              durationMs: clock.now().getTime() - started,
              detail: describeError(err),
            }),
          );
        return await Promise.race([work, timeout]);
      } finally {
        timer.abort();
        req.signal?.removeEventListener('abort', onOuterAbort);
      }
    }),
  );
}
