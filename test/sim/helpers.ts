import type { VirtualClock } from '../../src/sim/clock.js';
import { createSimulatedRegion, type RegionOptions, type SimRegion } from '../../src/sim/region.js';
import { type Scenario, type ScenarioInput, scenarioSchema } from '../../src/sim/scenario.js';

export const PRICES = {
  'm5.large': { onDemand: 0.096, spot: 0.036 },
  'm5a.large': { onDemand: 0.086, spot: 0.034 },
};

/** One m5.large group "web" in us-east-1a booting in about a minute; `extra` sets the rest. */
export function webGroup(extra: Partial<ScenarioInput['groups'][number]>): ScenarioInput['groups'][number] {
  return {
    name: 'web',
    instanceTypes: ['m5.large'],
    azs: ['us-east-1a'],
    desired: 1,
    boot: { median: 60, p99: 90 },
    ...extra,
  };
}

/** A scenario from a partial input: one small group, no hazard, no API latency unless said. */
export function scenario(input: Partial<ScenarioInput> = {}): Scenario {
  return scenarioSchema.parse({
    name: 'test',
    duration: '2h',
    prices: PRICES,
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large', 'm5a.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 4,
        boot: { median: 60, p99: 90 },
      },
    ],
    ...input,
    market: { hazardPerHour: 0, ...(input.market ?? {}) },
    api: { latencyMs: 0, ...(input.api ?? {}) },
  });
}

export async function warmRegion(
  input: Partial<ScenarioInput> = {},
  options: RegionOptions = {},
): Promise<SimRegion> {
  const region = createSimulatedRegion(scenario(input), options);
  await region.warmUp();
  return region;
}

/** Awaits `p` while the virtual clock moves in `stepMs` steps (other tests use it; SimRegion.drive is the same). */
export async function during<T>(clock: VirtualClock, p: Promise<T>, stepMs = 100): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  settled.catch(() => undefined);
  while (!done) await clock.advanceBy(stepMs);
  return settled;
}
