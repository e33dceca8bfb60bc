import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import { STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import type { Instance } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

// A world for standby swaps: `web` with a pool of two stopped standbys, and the fast path's standby hook
// driven directly (the tests then play the detach, the crash or Auto Scaling's own moves).

export const POOL = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });

/** `web` with its pool launched and stopped; standbys start in 6 s. */
export async function withPool(group: Partial<ScenarioInput['groups'][number]>, s = POOL): Promise<World> {
  const w = await world(s, { groups: [webGroup(group)], timings: { start: { median: 6, p99: 6 } } });
  await w.pass(); // launch the pool
  await w.wait(61);
  await w.pass(); // stop it
  await w.wait(46);
  return w;
}

/** The group's standbys EC2 still has. */
export const standbys = (w: World) =>
  w.instances().filter((i) => i.tags[STANDBY_FOR_TAG] === 'web' && i.state !== 'terminated');

/** The fast path's standby swap for `interrupted`, with the warning's two minutes from now. */
export function take(w: World, interrupted: Instance, s = POOL) {
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => standbys(w).map(toInstance),
    pollMs: 2_000,
  });
  return w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: s,
      interrupted,
      deadline: new Date(w.clock.now().getTime() + 110_000),
      signal: new AbortController().signal,
    }),
  );
}

/** The Spot reclaim, then Auto Scaling's health check replacing the instance (desired unchanged). */
export async function reclaimed(w: World, id: string): Promise<boolean> {
  w.region.ec2.terminate(w.instance(id));
  await w.wait(90);
  return !w.group().members.has(id);
}
