import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { GroupSettings } from '../../config/schema.js';

// The Consul ACL token comes from a file (re-read on each release, so a rotated token is used at once)
// or from an environment variable whose value the composition root passed in. It goes into the
// X-Consul-Token header and nowhere else: never into a log line, an error text or an outcome.

export type TokenResult = { token?: string; problem?: string };

export async function readConsulToken(
  settings: Pick<GroupSettings['consul'], 'tokenFile' | 'tokenEnv'>,
  env: Record<string, string | undefined>,
): Promise<TokenResult> {
  if (settings.tokenFile) {
    try {
      const token = (await readFile(settings.tokenFile, 'utf8')).trim();
      if (!token) return { problem: `Consul token file ${settings.tokenFile} is empty` };
      return { token };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return { problem: `Consul token file ${settings.tokenFile} cannot be read (${code})` };
    }
  }
  if (settings.tokenEnv) {
    const token = env[settings.tokenEnv]?.trim();
    if (!token) return { problem: `environment variable ${settings.tokenEnv} (consul.tokenEnv) is not set` };
    return { token };
  }
  return {};
}

/** Synchronous check for `plan`: the token source is configured but unusable. */
export function checkConsulToken(
  settings: Pick<GroupSettings['consul'], 'tokenFile' | 'tokenEnv'>,
  env: Record<string, string | undefined>,
): string | undefined {
  if (settings.tokenFile) {
    try {
      accessSync(settings.tokenFile, constants.R_OK);
    } catch (err) {
      return `Consul token file ${settings.tokenFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    return undefined;
  }
  if (settings.tokenEnv && !env[settings.tokenEnv]?.trim()) {
    return `environment variable ${settings.tokenEnv} (consul.tokenEnv) is not set`;
  }
  return undefined;
}
