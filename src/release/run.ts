import { DeadlineError, describeError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../ports/releaser.js';
import { withDeadline } from '../timing/deadline.js';

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
      const budget = Math.min(
        req.deadline.getTime() - started,
        options.stepTimeoutMs ?? Number.POSITIVE_INFINITY,
      );
      if (budget <= 0) {
        return { step: releaser.name, status: 'skipped', durationMs: 0, detail: 'deadline already passed' };
      }
      const ended = (status: ReleaseOutcome['status'], detail: string): ReleaseOutcome => ({
        step: releaser.name,
        status,
        durationMs: clock.now().getTime() - started,
        detail,
      });
      try {
        // The step's signal aborts at its time limit, so a step that overruns is told to stop.
        return await withDeadline((signal) => releaser.release({ ...req, signal }), {
          clock,
          ms: budget,
          signal: req.signal,
          what: releaser.name,
        });
      } catch (err) {
        if (err instanceof DeadlineError)
          return ended('partial', `stopped at its time limit (${Math.round(budget)} ms)`);
        return ended('failed', describeError(err));
      }
    }),
  );
}
