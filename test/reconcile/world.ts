import type { ResolvedGroup } from '../../src/config/resolved.js';
import type { GroupSettings } from '../../src/config/schema.js';
import { type ReconcileDeps, reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import type { Group } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Releaser } from '../../src/ports/releaser.js';
import { FakeCloud, ManualClock } from './fake-cloud.js';

// A fake region, a manual clock and reconcile deps that manage every group with the given settings.

export const T0 = new Date('2026-11-22T10:00:00.000Z');

export function managedAll(settingsFor: (g: Group) => GroupSettings) {
  return (groups: Group[]): ResolvedGroup[] =>
    groups.map((group) => ({
      group,
      managed: true,
      problems: [],
      settings: settingsFor(group),
      provenance: {},
    }));
}

export function world(settings: GroupSettings, releasers: Releaser[] = []) {
  const clock = new ManualClock(T0);
  const cloud = new FakeCloud(clock);
  const deps: ReconcileDeps<null> = {
    cloud,
    clock,
    logger: silentLogger,
    loadPolicies: () => null,
    resolve: managedAll(() => settings),
    releasersFor: () => releasers,
    dryRun: false,
  };
  return {
    clock,
    cloud,
    deps,
    /** One acting pass; a pass the kill switch stopped returns undefined. */
    async pass() {
      try {
        return await reconcileOnce(deps, { execute: true });
      } catch {
        return undefined;
      }
    },
    /** Lets the region move on by `seconds`. */
    async wait(seconds: number) {
      cloud.tick();
      await clock.advance(seconds * 1000);
      cloud.tick();
    },
  };
}
