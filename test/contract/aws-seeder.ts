import type { AwsClients } from '../../src/aws/clients.js';
import {
  addSpotMembers,
  createGroup,
  createLaunchTemplate,
  createTestQueue,
  createTestVolume,
  launchInstances,
} from '../helpers/aws-fixtures.js';
import type { ContractSeeder, SeededGroup, SeedGroupSpec } from './seeder.js';

/** Builds contract-suite state in moto with the raw SDK (never through the adapters under test). */
export class AwsSeeder implements ContractSeeder {
  readonly azs = ['us-east-1a', 'us-east-1b'];
  /** One template for every group and loose instance: half the calls when a test seeds 100+ groups. */
  private template: Promise<{ id: string; name: string }> | undefined;

  constructor(private readonly raw: AwsClients) {}

  private sharedTemplate(): Promise<{ id: string; name: string }> {
    this.template ??= createLaunchTemplate(this.raw.ec2, 'contract-lt');
    return this.template;
  }

  async createGroup(spec: SeedGroupSpec): Promise<SeededGroup> {
    const lt = await this.sharedTemplate();
    await createGroup(this.raw.autoscaling, {
      name: spec.name,
      desired: spec.desired,
      max: spec.max,
      tags: spec.tags,
      azs: spec.azs ?? [this.azs[0]!],
      mixed: spec.mixed,
      launchTemplate: lt.name,
      ec2: this.raw.ec2,
    });
    return { name: spec.name, launchTemplate: { id: lt.id, name: lt.name, version: '$Latest' } };
  }

  addSpotMembers(group: string, n: number, az?: string): Promise<string[]> {
    return addSpotMembers(this.raw.ec2, this.raw.autoscaling, group, n, { az });
  }

  async launchInstance(opts: { az: string; tags?: Record<string, string> }): Promise<string> {
    const lt = await this.sharedTemplate();
    const [id] = await launchInstances(this.raw.ec2, {
      launchTemplate: lt.name,
      n: 1,
      az: opts.az,
      tags: opts.tags,
    });
    return id!;
  }

  createVolume(opts: { az: string; tags?: Record<string, string> }): Promise<string> {
    return createTestVolume(this.raw.ec2, opts);
  }

  createQueue(name: string, visibilityTimeoutSeconds: number): Promise<string> {
    return createTestQueue(this.raw.sqs, name, visibilityTimeoutSeconds);
  }

  async settle(): Promise<void> {}
}
