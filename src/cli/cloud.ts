import { createAwsCloud } from '../aws/cloud.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import type { Env } from '../main.js';
import { awsSettings } from './runtime.js';

/** The real region's ports, from flags and the standard AWS environment (credential chain, endpoint). */
export function awsCloudFrom(opts: { region?: string }, env: Env, logger?: Logger): Cloud {
  const settings = awsSettings(opts, env);
  return createAwsCloud({ ...settings, ...(logger ? { logger } : {}) });
}
