import type { Tags } from '../../src/domain/types.js';
import { createSimulatedRegion, type SimRegion } from '../../src/sim/region.js';
import { type Scenario, scenarioSchema } from '../../src/sim/scenario.js';
import { contractSuite } from './ports.contract.js';
import type { ContractSeeder, SeededGroup, SeedGroupSpec } from './seeder.js';

// The port contract against the simulated region. The region starts empty, with no Spot hazard (the
// suite decides what happens) and no API latency, so port calls made outside the clock's loop answer
// at once; `settle` plays five virtual minutes so boots, stops and attachments finish.

function emptyScenario(): Scenario {
  const parsed = scenarioSchema.parse({
    name: 'contract',
    duration: '24h',
    prices: { 'm5.large': { onDemand: 0.096, spot: 0.036 } },
    groups: [{ name: 'unused', instanceTypes: ['m5.large'], azs: ['us-east-1a'], desired: 0 }],
    market: { hazardPerHour: 0 },
    api: { latencyMs: 0 },
  });
  return { ...parsed, groups: [] };
}

class SimSeeder implements ContractSeeder {
  readonly azs = ['us-east-1a', 'us-east-1b'];
  private readonly template;

  constructor(private readonly region: SimRegion) {
    this.template = region.ec2.addTemplate({
      name: 'contract-lt',
      defaultVersion: 1,
      versions: [{ version: 1, instanceType: 'm5.large', hibernation: true, boot: { median: 30, p99: 60 } }],
    });
  }

  async createGroup(spec: SeedGroupSpec): Promise<SeededGroup> {
    const ref = { id: this.template.id, name: this.template.name, version: '$Latest' };
    this.region.asg.createGroup({
      name: spec.name,
      min: 0,
      max: spec.max ?? Math.max(spec.desired, 10),
      desired: spec.desired,
      azs: spec.azs ?? [this.azs[0]!],
      ...(spec.mixed
        ? {
            mixedInstancesPolicy: {
              launchTemplate: ref,
              overrides: [{ instanceType: 'm5.large' }, { instanceType: 'm5a.large' }],
              // The seeded members are On-Demand, as the seeder's contract says.
              instancesDistribution: {
                onDemandBaseCapacity: spec.desired,
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: 'price-capacity-optimized',
              },
            },
          }
        : { launchTemplate: ref }),
      tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
    });
    await this.settle();
    return { name: spec.name, launchTemplate: ref };
  }

  private launch(az: string, market: 'spot' | 'on-demand', tags: Tags): string {
    const version = this.template.versions[0]!;
    return this.region.ec2.launch({ template: this.template, version, az, market, tags }).instanceId;
  }

  async addSpotMembers(group: string, n: number, az?: string): Promise<string[]> {
    const g = this.region.asg.mustGet(group);
    const ids = Array.from({ length: n }, () => this.launch(az ?? g.azs[0]!, 'spot', {}));
    await this.settle();
    for (let i = 0; i < ids.length; i += 20) this.region.asg.attach(group, ids.slice(i, i + 20));
    await this.settle();
    return ids;
  }

  async launchInstance(opts: { az: string; tags?: Tags }): Promise<string> {
    const id = this.launch(opts.az, 'on-demand', opts.tags ?? {});
    await this.settle();
    return id;
  }

  async createVolume(opts: { az: string; tags?: Tags }): Promise<string> {
    const v = this.region.volumes.create({ availabilityZone: opts.az, sizeGiB: 10, tags: opts.tags ?? {} });
    await this.settle();
    return v.volumeId;
  }

  async createQueue(name: string, visibilityTimeoutSeconds: number): Promise<string> {
    return this.region.sqs.createQueue(name, visibilityTimeoutSeconds);
  }

  settle(): Promise<void> {
    return this.region.clock.advanceBy(300_000);
  }
}

contractSuite('sim', async () => {
  const region = createSimulatedRegion(emptyScenario(), { seed: 1 });
  return { cloud: region.cloud, seed: new SimSeeder(region), teardown: async () => {} };
});
