import { SpotmaxError } from '../domain/errors.js';
import type { CommandIO } from '../main.js';

// Placeholder until this command's capability lands; fails loudly rather than pretending.
export async function applyCommand(..._args: unknown[]): Promise<number> {
  throw new SpotmaxError('spotmax apply is not built yet');
}
export type { CommandIO };
