import { SpotmaxError } from '../domain/errors.js';
import type { CommandIO } from '../main.js';

// Placeholder until this command's capability lands; fails loudly rather than pretending.
export async function planCommand(..._args: unknown[]): Promise<number> {
  throw new SpotmaxError('spotmax plan is not built yet');
}
export type { CommandIO };
