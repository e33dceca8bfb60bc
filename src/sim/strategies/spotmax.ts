import type { Strategy, StrategyContext } from './types.js';

/** spotmax's real controllers against the simulated region (wired once they land). */
export function spotmaxStrategy(_ctx: StrategyContext): Strategy {
  return { name: 'spotmax', start: async () => {}, stop: async () => {}, actions: () => ({}) };
}
