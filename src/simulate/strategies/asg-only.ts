import type { Strategy } from './types.js';

/** No spotmax: the Auto Scaling group replaces an instance once the reclaim has terminated it. */
export function asgOnly(): Strategy {
  return { name: 'asg-only', start: async () => {}, stop: async () => {}, actions: () => ({}) };
}
