import { createTask, parse } from 'node-cron';
import { UserError } from '../../domain/errors.js';

// The reconcile schedule (`--interval`, a cron expression) as a function of time, so the loop waits for
// the next run on the injected Clock instead of node-cron's wall-clock timers: the simulated region runs
// it at virtual speed with nothing special to drive it. node-cron parses and validates the expression
// (5 fields, or 6 with seconds first); its matcher decides day-of-month/day-of-week and month (with the
// L and nth-weekday forms), and the time of day is searched over the parsed value lists. Times are UTC.

const DAY_MS = 86_400_000;
/** A schedule with no run in this long is treated as never running again (e.g. 30 February). */
const HORIZON_DAYS = 366 * 5;

export interface CronSchedule {
  readonly expression: string;
  /** The first run strictly after `after`, or undefined when there is none within five years. */
  next(after: Date): Date | undefined;
}

export function cronSchedule(expression: string): CronSchedule {
  let fields: ReturnType<typeof parse>;
  try {
    fields = parse(expression);
  } catch (err) {
    throw new UserError(
      `--interval "${expression}" is not a valid cron expression (${(err as Error).message}); for example "* * * * *" (every minute) or "*/30 * * * * *" (every 30 s)`,
      { cause: err },
    );
  }
  const seconds = [...fields.second].sort((a, b) => a - b);
  const minutes = [...fields.minute].sort((a, b) => a - b);
  const hours = [...fields.hour].sort((a, b) => a - b);
  const matcher = createTask(expression, () => undefined, { timezone: 'Etc/UTC' });
  const firstOfDay = ((hours[0] ?? 0) * 3600 + (minutes[0] ?? 0) * 60 + (seconds[0] ?? 0)) * 1000;
  /** Day and month fields match this UTC day (the time fields are matched by construction). */
  const dayMatches = (dayStart: number) => matcher.match(new Date(dayStart + firstOfDay));

  /** The first time of day (ms since midnight) at or after `fromMs` that the time fields allow. */
  const timeOfDayFrom = (fromMs: number): number | undefined => {
    const fromS = Math.floor(fromMs / 1000);
    const h0 = Math.floor(fromS / 3600);
    const m0 = Math.floor((fromS % 3600) / 60);
    const s0 = fromS % 60;
    for (const h of hours) {
      if (h < h0) continue;
      for (const m of minutes) {
        if (h === h0 && m < m0) continue;
        for (const s of seconds) {
          if (h === h0 && m === m0 && s < s0) continue;
          return (h * 3600 + m * 60 + s) * 1000;
        }
      }
    }
    return undefined;
  };

  return {
    expression,
    next(after) {
      const from = Math.floor(after.getTime() / 1000) * 1000 + 1000;
      let dayStart = Math.floor(from / DAY_MS) * DAY_MS;
      let offset = from - dayStart;
      for (let d = 0; d < HORIZON_DAYS; d++) {
        if (dayMatches(dayStart)) {
          const t = timeOfDayFrom(offset);
          if (t !== undefined) return new Date(dayStart + t);
        }
        dayStart += DAY_MS;
        offset = 0;
      }
      return undefined;
    },
  };
}
