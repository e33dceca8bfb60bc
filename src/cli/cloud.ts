import { resolve } from 'node:path';
import { createAwsCloud } from '../aws/cloud.js';
import { UserError } from '../domain/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import type { SimEventBus } from '../sim/events.js';
import type { Env } from './io.js';
import { awsSettings, policyPaths } from './runtime.js';

/** The real region's ports, from flags and the standard AWS environment (credential chain, endpoint). */
export function awsCloudFrom(opts: { region?: string }, env: Env, logger?: Logger): Cloud {
  const settings = awsSettings(opts, env);
  return createAwsCloud({ ...settings, ...(logger ? { logger } : {}) });
}

export interface CloudFlags {
  cloud: 'aws' | 'sim';
  region?: string;
  policies?: string;
  /** --cloud sim: the scenario whose region to use (default: the demo's). */
  scenario?: string;
  /** --cloud sim: how far into the scenario (a duration: 90, 30m, 2h). */
  at?: string;
}

/** The region a one-shot command (plan, apply) works on, and the policy folder it uses. */
export interface CommandCloud {
  cloud: Cloud;
  clock: Clock;
  /** Policy folders: --policies / SPOTMAX_POLICIES, else the scenario's (sim) or ./policies (aws). */
  policyPaths: string[];
  /** Awaits work on the cloud; on the simulated region, its clock runs meanwhile (latency, backoff). */
  drive<T>(work: Promise<T>): Promise<T>;
  /** One line saying where the command ran, for a human reading the output. */
  where: string;
  /** The simulated region's EventBridge bus (sim only); on AWS the command builds its own port. */
  simEvents?: SimEventBus;
}

export async function commandCloud(opts: CloudFlags, env: Env, logger?: Logger): Promise<CommandCloud> {
  if (opts.cloud === 'aws') {
    for (const [flag, given] of [
      ['--scenario', opts.scenario],
      ['--at', opts.at],
    ] as const)
      if (given !== undefined) throw new UserError(`${flag} applies to --cloud sim only; remove it`);
    return {
      cloud: awsCloudFrom(opts, env, logger),
      clock: systemClock,
      policyPaths: policyPaths(opts, env),
      drive: (work) => work,
      where: `region ${awsSettings(opts, env).region}`,
    };
  }
  if (opts.region !== undefined)
    throw new UserError(
      "--region applies to --cloud aws only (the scenario names the simulated region's name)",
    );
  const [{ createSimulatedRegion }, { loadScenario, parseDuration }, { defaultDemoScenario }] =
    await Promise.all([
      import('../sim/region.js'),
      import('../sim/scenario.js'),
      import('../simulate/demo.js'),
    ]);
  const file = opts.scenario ?? defaultDemoScenario();
  const scenario = loadScenario(file);
  let atSeconds = 0;
  try {
    atSeconds = opts.at === undefined ? 0 : parseDuration(opts.at);
  } catch (err) {
    throw new UserError(`--at: ${(err as Error).message}`, { cause: err });
  }
  const region = createSimulatedRegion(scenario);
  if (atSeconds * 1000 > region.end - region.start)
    throw new UserError(`--at ${opts.at} is past the end of scenario ${file} (${scenario.duration} s)`);
  await region.warmUp();
  // The region plays on its own (Spot reclaims, the ASG replacing) without spotmax up to --at.
  await region.clock.runUntil(region.start + atSeconds * 1000);
  const explicit = opts.policies !== undefined || env.SPOTMAX_POLICIES !== undefined;
  const scenarioPolicies =
    scenario.policies && scenario.dir ? [resolve(scenario.dir, scenario.policies)] : [];
  return {
    cloud: region.cloud,
    clock: region.clock,
    policyPaths: explicit ? policyPaths(opts, env) : scenarioPolicies,
    drive: (work) => region.clock.drive(work),
    simEvents: region.events,
    where: `simulated region ${region.cloud.region} (scenario "${scenario.name}" at +${atSeconds} s)`,
  };
}
