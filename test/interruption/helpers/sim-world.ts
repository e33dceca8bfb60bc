import type { QueueMessage } from '../../../src/ports/queue.js';
import type { VirtualClock } from '../../../src/sim/clock.js';
import type { SimInstance } from '../../../src/sim/ec2-state.js';
import { type RecordedCall, recordCalls } from '../../../src/sim/recording.js';
import type { ScenarioInput } from '../../../src/sim/scenario.js';
import { simIamRecorder } from '../../helpers/sim-iam.js';
import { warmRegion } from '../../sim/helpers.js';

// The fast path's tests run on the simulated region (the one fake): groups come from the scenario, the
// ports are the region's behind the recording decorator (call assertions, fault injection), and time is
// the region's VirtualClock, so timing assertions are exact.

type HookInput = NonNullable<ScenarioInput['groups'][number]['lifecycleHooks']>[number];

export interface GroupSpec {
  name: string;
  size: number;
  /**
   * ASG tags; unless given, managed (spotmax:managed=true) and tagged spotmax:group as the reconciler's
   * first pass leaves a group it manages (the IAM policy lets spotmax detach only from such groups).
   */
  tags?: Record<string, string>;
  hooks?: HookInput[];
}

export const MANAGED = { 'spotmax:managed': 'true' };

/** A warm region: every group InService in us-east-1a, no API latency, no Spot hazard. */
export async function simWorld(groups: GroupSpec[], extra: Partial<ScenarioInput> = {}) {
  const region = await warmRegion({
    groups: groups.map((g) => ({
      name: g.name,
      instanceTypes: ['m5.large'],
      azs: ['us-east-1a'],
      desired: g.size,
      boot: { median: 60, p99: 90 },
      tags: g.tags ?? { ...MANAGED, 'spotmax:group': g.name },
      lifecycleHooks: g.hooks ?? [],
    })),
    ...extra,
  });
  // Every port call is also checked against the IAM policy when the test file ends (sim-iam.ts).
  const rec = recordCalls(region.cloud, region.clock, { onCall: simIamRecorder(region) });
  const clock = region.clock;
  const okCalls = (method: string) => rec.callsOf(method).filter((c) => c.error === undefined);
  return {
    region,
    clock,
    rec,
    cloud: rec.cloud,
    /** Ids of the group's members, in any lifecycle state. */
    members: (group: string) => [...region.asg.mustGet(group).members.keys()],
    instance: (id: string) => region.ec2.get(id) as SimInstance,
    /** Calls of `method` that succeeded. */
    okCalls,
    /** DetachInstances calls that succeeded. */
    detaches: () => okCalls('detachInstances').map(detachOf),
    /** Sum of a metric's data whose dimensions include `dims`. */
    metricSum: (name: string, dims: Record<string, string> = {}) => {
      let sum = 0;
      for (const m of region.metrics.totals.values())
        if (m.name === name && Object.entries(dims).every(([k, v]) => m.dimensions[k] === v)) sum += m.sum;
      return sum;
    },
    /** A running instance outside any group (launched from `template`'s launch template). */
    async standalone(market: 'spot' | 'on-demand' = 'spot', template = `${groups[0]!.name}-lt`) {
      const tpl = [...region.ec2.templates.values()].find((t) => t.name === template)!;
      const inst = region.ec2.launch({
        template: tpl,
        version: tpl.versions[0]!,
        az: 'us-east-1a',
        market,
        tags: {},
      });
      await eventually(clock, `${inst.instanceId} running`, () => inst.state === 'running');
      return inst;
    },
    /** What the queue holds now (received here, so in flight afterwards), without counting as spotmax's calls. */
    receiveAll: (url = region.queueUrl): Promise<QueueMessage[]> =>
      region.sqs.receive(url, { maxMessages: 10, waitSeconds: 0 }),
  };
}

export type SimWorld = Awaited<ReturnType<typeof simWorld>>;

export const detachOf = (c: RecordedCall) => ({
  group: c.args[0] as string,
  ids: c.args[1] as string[],
  decrement: c.args[2] as boolean,
  at: c.at,
});

/**
 * Waits in virtual time until `cond` holds, looking every `stepMs` of clock time while the clock jumps
 * from event to event; fails naming `what` after `withinMs` of clock time. Exact and load-independent.
 */
export async function eventually(
  clock: VirtualClock,
  what: string,
  cond: () => boolean | Promise<boolean>,
  withinMs = 600_000,
  stepMs = 100,
): Promise<void> {
  const limit = clock.nowMs() + withinMs;
  await clock.drive(
    (async () => {
      while (!(await cond())) {
        if (clock.nowMs() >= limit) throw new Error(`timed out waiting for ${what}`);
        await clock.sleep(stepMs);
      }
    })(),
  );
}

/** Event time as AWS sends it (whole seconds), ms. */
export const eventMs = (time: Date) => Math.floor(time.getTime() / 1000) * 1000;
