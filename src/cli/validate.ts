import { SpotmaxError } from '../domain/errors.js';
import type { CommandIO } from '../main.js';

// Placeholder until this command's capability lands; fails loudly rather than pretending.
export async function validateCommand(..._args: unknown[]): Promise<number> {
  throw new SpotmaxError('spotmax validate is not built yet');
}
export type { CommandIO };
