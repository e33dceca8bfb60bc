import { createAwsCloud } from '../aws/cloud.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import type { Env } from './io.js';
import { awsSettings } from './runtime.js';
import { simCloudForCommand } from './sim-cloud.js';

/** The real region's ports, from flags and the standard AWS environment (credential chain, endpoint). */
export function awsCloudFrom(opts: { region?: string }, env: Env, logger?: Logger): Cloud {
  const settings = awsSettings(opts, env);
  return createAwsCloud({ ...settings, ...(logger ? { logger } : {}) });
}

/** The region a one-shot command (plan, apply) works on. */
export async function commandCloud(
  opts: { cloud: 'aws' | 'sim'; region?: string },
  env: Env,
  logger?: Logger,
): Promise<{ cloud: Cloud; clock: Clock }> {
  if (opts.cloud === 'sim') return simCloudForCommand();
  return { cloud: awsCloudFrom(opts, env, logger), clock: systemClock };
}
