import type { ResolvedGroup } from '../../src/config/resolved.js';
import type { GroupSettings } from '../../src/config/schema.js';
import {
  type ReconcileDeps,
  type ReconcileResult,
  reconcileOnce,
} from '../../src/controllers/reconcile/pass.js';
import type { Group } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Releaser } from '../../src/ports/releaser.js';
import type { SimGroup, SimMember } from '../../src/sim/asg-state.js';
import type { SimInstance } from '../../src/sim/ec2-state.js';
import { recordCalls } from '../../src/sim/recording.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { simIamRecorder } from '../helpers/sim-iam.js';
import { warmRegion } from '../sim/helpers.js';

// The reconciler's tests run on the simulated region (the one fake): a warmed-up region, its ports
// wrapped in the recording decorator (call assertions, fault injection, a process that dies), and
// reconcile deps that manage every group with the given settings. Time is the region's virtual clock.

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

export type GroupInput = ScenarioInput['groups'][number];

/**
 * Group `web`: Spot over two types in two AZs, adopted (spotmax:group propagates at launch). Boots take
 * exactly 60 s so a test can say "61 s later the new member is InService".
 */
export function webGroup(extra: Partial<GroupInput> = {}): GroupInput {
  return {
    name: 'web',
    instanceTypes: ['m5.large', 'm5a.large'],
    azs: ['us-east-1a', 'us-east-1b'],
    desired: 2,
    boot: { median: 60, p99: 60 },
    adopted: true,
    ...extra,
  };
}

/** Starting a stopped instance takes exactly 40 s, resuming a hibernated one 12 s. */
const EXACT_TIMINGS = { start: { median: 40, p99: 40 }, resume: { median: 12, p99: 12 } };

export async function world(
  settings: GroupSettings,
  input: Partial<ScenarioInput> = {},
  releasers: Releaser[] = [],
) {
  const region = await warmRegion({
    groups: [webGroup()],
    ...input,
    timings: { ...EXACT_TIMINGS, ...(input.timings ?? {}) },
  });
  // Every port call is also checked against the IAM policy when the test file ends (sim-iam.ts).
  const rec = recordCalls(region.cloud, region.clock, { onCall: simIamRecorder(region) });
  const clock = region.clock;
  const deps: ReconcileDeps<null> = {
    cloud: rec.cloud,
    clock,
    logger: silentLogger,
    loadPolicies: () => null,
    resolve: managedAll(() => settings),
    releasersFor: () => releasers,
    dryRun: false,
  };
  const w = {
    region,
    clock,
    rec,
    /** The recorded ports: what spotmax uses, and what tests call to act as AWS or the fast path would. */
    cloud: rec.cloud,
    deps,
    /** One acting pass; a pass the dying process stopped returns undefined. */
    async pass(): Promise<ReconcileResult | undefined> {
      try {
        return await clock.drive(reconcileOnce(deps, { execute: true }));
      } catch {
        return undefined;
      }
    },
    /** Lets the region move on by `seconds` of virtual time. */
    wait: (seconds: number) => clock.advanceBy(seconds * 1000),
    group: (name = 'web'): SimGroup => region.asg.mustGet(name),
    members: (name = 'web'): SimMember[] => [...region.asg.mustGet(name).members.values()],
    instance: (id: string): SimInstance => region.ec2.mustGet(id),
    /** Every instance EC2 still knows of (terminated ones stay visible for an hour). */
    instances: (): SimInstance[] => [...region.ec2.instances.values()],
  };
  return w;
}

export type World = Awaited<ReturnType<typeof world>>;
