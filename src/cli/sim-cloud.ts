import { UserError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';

/** plan/apply against the simulated region: wired once the simulator lands. */
export async function simCloudForCommand(): Promise<{ cloud: Cloud; clock: Clock }> {
  throw new UserError('--cloud sim is only available with `spotmax run` and `spotmax simulate`');
}
