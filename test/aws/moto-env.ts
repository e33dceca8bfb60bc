import test from 'ava';
import type { AwsClients } from '../../src/aws/clients.js';
import { type AwsService, iamPermission, REQUIRED_PERMISSIONS } from '../../src/aws/permissions.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { callCounter, testClients, testCloud } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto } from '../helpers/moto.js';

export interface MotoEnv {
  moto: Moto;
  /** Raw SDK clients for setting up and checking, not counted. */
  raw: AwsClients;
  /** spotmax's adapters; their calls are counted in `calls`. */
  cloud: Cloud;
  calls: ReturnType<typeof callCounter>;
}

/** Registers before/after hooks that start this file's own moto; the fields are set once before() ran. */
export function useMotoEnv(): MotoEnv {
  const env = { calls: callCounter() } as MotoEnv;
  test.before(async () => {
    env.moto = await startMoto();
    env.raw = testClients(env.moto.endpoint);
    env.cloud = testCloud(env.moto.endpoint, env.calls.onCall);
  });
  test.after.always(async () => {
    await env.moto?.stop();
  });
  return env;
}

/** Calls counted as `service:Command` whose IAM permission is missing from REQUIRED_PERMISSIONS. */
export function unlistedPermissions(keys: string[]): string[] {
  return keys
    .map((k) => {
      const [service, command] = k.split(':');
      return iamPermission(service as AwsService, command ?? '');
    })
    .filter((p) => !REQUIRED_PERMISSIONS.includes(p));
}
