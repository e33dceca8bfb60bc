import { existsSync } from 'node:fs';
import { UserError } from '../domain/errors.js';
import type { Env } from './io.js';

// Settings every command derives from flags and the environment, in one place (DESIGN §3 rule 10).

export interface AwsSettings {
  region: string;
  /** AWS_ENDPOINT_URL: the SDK's own variable, used to point every client at an emulator. */
  endpoint?: string;
}

/**
 * The region and endpoint for AWS clients. `service` honours the SDK's service-specific variable
 * (AWS_ENDPOINT_URL_DYNAMODB, ...: "Service-specific endpoints" in the AWS SDKs and Tools reference guide)
 * over AWS_ENDPOINT_URL, as the SDK itself would were the endpoint not passed explicitly.
 */
export function awsSettings(opts: { region?: string }, env: Env, service?: string): AwsSettings {
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new UserError(
      'no AWS region configured: pass --region or set AWS_REGION (for example AWS_REGION=us-east-1)',
    );
  }
  const endpoint =
    (service ? env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] : undefined) ||
    env.AWS_ENDPOINT_URL ||
    undefined;
  return endpoint ? { region, endpoint } : { region };
}

/** The policy folder: --policies, else SPOTMAX_POLICIES, else ./policies when it exists. */
export function policyPaths(opts: { policies?: string }, env: Env): string[] {
  const explicit = opts.policies ?? env.SPOTMAX_POLICIES;
  if (explicit) {
    if (!existsSync(explicit))
      throw new UserError(
        `policy folder ${explicit} does not exist (from ${opts.policies ? '--policies' : 'SPOTMAX_POLICIES'})`,
      );
    return [explicit];
  }
  return existsSync('policies') ? ['policies'] : [];
}

export function queueUrls(opts: { queueUrl?: string[] }, env: Env): string[] {
  if (opts.queueUrl && opts.queueUrl.length > 0) return opts.queueUrl;
  return (env.SPOTMAX_QUEUE_URL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}
