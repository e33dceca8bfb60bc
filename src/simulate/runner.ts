import { type Logger, silentLogger } from '../ports/logger.js';
import { Random } from '../sim/random.js';
import { createSimulatedRegion, type SimRegion } from '../sim/region.js';
import type { Scenario } from '../sim/scenario.js';
import type { ChartMark } from './chart.js';
import { recordRegion } from './recorder.js';
import { type SimulationReport, type StrategyRun, strategyRun } from './report.js';
import { asgOnly } from './strategies/asg-only.js';
import { drainOnly } from './strategies/drain-only.js';
import { spotmaxStrategy } from './strategies/spotmax.js';
import type { Strategy, StrategyContext, StrategyName } from './strategies/types.js';

// Plays one scenario under each strategy. Every strategy gets a fresh region from the same seed, so
// the market (hazard draws keyed by pool and launch ordinal, storms, outages) is the same for all.

export interface RunOptions {
  seed?: number;
  policiesDir?: string;
  /** Replaces the scenario's duration, in seconds. */
  durationSeconds?: number;
  logger?: Logger;
  /** Run the spotmax strategy even when its policies have problems (the CLI listed them first). */
  allowPolicyProblems?: boolean;
  /** Called with the region before the strategy starts (benchmarks read the clock from it). */
  onRegion?: (region: SimRegion) => void;
}

export function makeStrategy(name: StrategyName, ctx: StrategyContext): Strategy {
  switch (name) {
    case 'asg-only':
      return asgOnly();
    case 'drain-only':
      return drainOnly(ctx);
    case 'spotmax':
      return spotmaxStrategy(ctx);
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Some code under test draws jitter from Math.random; during a run it draws from the seed instead, so
 * the same seed gives the same report. Runs in one process are queued, one at a time, so no two runs
 * ever share (or restore) the replacement.
 */
function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    const original = Math.random;
    const stream = new Random(seed).fork('math-random');
    Math.random = () => stream.next();
    try {
      return await fn();
    } finally {
      Math.random = original;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}

export async function runStrategy(
  scenario: Scenario,
  name: StrategyName,
  options: RunOptions = {},
): Promise<StrategyRun> {
  const region = createSimulatedRegion(scenario, {
    seed: options.seed,
    durationSeconds: options.durationSeconds,
  });
  return withSeededMathRandom(region.seed, async () => {
    options.onRegion?.(region);
    await region.warmUp();
    const recorder = recordRegion(region);
    const strategy = makeStrategy(name, {
      region,
      recorder,
      logger: options.logger ?? silentLogger,
      policiesDir: options.policiesDir,
      allowPolicyProblems: options.allowPolicyProblems === true,
    });
    await strategy.start();
    await region.clock.runUntil(region.end);
    const measured = recorder.finish();
    const stats = structuredClone(region.api.stats);
    // Stopping waits on the virtual clock (grace periods, in-flight sleeps): keep it moving meanwhile.
    let stopped = false;
    const stopping = strategy.stop().finally(() => {
      stopped = true;
    });
    for (let i = 0; i < 600 && !stopped; i++) await region.clock.advanceBy(1000);
    await stopping;
    return strategyRun(name, measured, stats, strategy.actions());
  });
}

export interface ScenarioRun {
  report: SimulationReport;
  runs: StrategyRun[];
  marks: ChartMark[];
  durationSeconds: number;
}

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<ScenarioRun> {
  const runs: StrategyRun[] = [];
  for (const name of scenario.strategies) runs.push(await runStrategy(scenario, name, options));
  const durationSeconds = options.durationSeconds ?? scenario.duration;
  const marks: ChartMark[] = [
    ...scenario.market.storms.map((s, i) => ({
      kind: 'storm' as const,
      label: s.name ?? `storm ${i + 1}`,
      from: s.at,
      to: s.at + s.within + 120,
    })),
    ...scenario.market.outages.map((o, i) => ({
      kind: 'outage' as const,
      label: o.name ?? `Spot outage${o.az ? ` ${o.az}` : ''}${i ? ` ${i + 1}` : ''}`,
      from: o.from,
      to: o.to,
    })),
  ].filter((k) => k.from < durationSeconds);
  return {
    report: {
      scenario: scenario.name,
      seed: options.seed ?? scenario.seed,
      strategies: runs.map((r) => r.report),
    },
    runs,
    marks,
    durationSeconds,
  };
}
