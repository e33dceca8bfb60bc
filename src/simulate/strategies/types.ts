import type { Logger } from '../../ports/logger.js';
import type { SimRegion } from '../../sim/region.js';
import type { Recorder } from '../recorder.js';

export type StrategyName = 'asg-only' | 'drain-only' | 'spotmax';

export interface StrategyContext {
  region: SimRegion;
  recorder: Recorder;
  logger: Logger;
  /** Policy folder for the spotmax strategy. */
  policiesDir?: string;
  /** Problems in the policies were listed and accepted: run with the valid ones, not refuse. */
  allowPolicyProblems?: boolean;
}

/** One way of running a fleet through the scenario: nothing, a drain handler, or spotmax itself. */
export interface Strategy {
  readonly name: StrategyName;
  start(): Promise<void>;
  /** Stops its loops; the caller keeps the clock moving while this settles. */
  stop(): Promise<void>;
  /** Actions taken by kind, beyond the API calls the region counts. */
  actions(): Record<string, number>;
}
