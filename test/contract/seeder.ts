import type { LaunchTemplateRef, Tags } from '../../src/domain/types.js';
import type { Cloud } from '../../src/ports/cloud.js';

// How the contract suite builds a starting state in a backend. The AWS implementation (aws-seeder.ts)
// uses raw SDK calls against moto; the simulator implements the same interface on its own state, so
// one suite of port behaviours runs against both.

export interface SeedGroupSpec {
  name: string;
  /** Running On-Demand members created with the group. */
  desired: number;
  max?: number;
  tags?: Tags;
  /** Default: the first of `azs`. */
  azs?: string[];
  /** A MixedInstancesPolicy (several instance types, all Spot above base 0) instead of a plain template. */
  mixed?: boolean;
}

export interface SeededGroup {
  name: string;
  /** The template the group launches from, usable with Ec2Port.runInstances. */
  launchTemplate: LaunchTemplateRef;
}

export interface ContractSeeder {
  /** At least two Availability Zones of the backend's region. */
  readonly azs: string[];
  createGroup(spec: SeedGroupSpec): Promise<SeededGroup>;
  /** `n` running Spot instances attached to the group (its desired capacity rises by `n`); their ids. */
  addSpotMembers(group: string, n: number, az?: string): Promise<string[]>;
  /** A running On-Demand instance outside any group; its id. */
  launchInstance(opts: { az: string; tags?: Tags }): Promise<string>;
  /** An available EBS volume; its id. */
  createVolume(opts: { az: string; tags?: Tags }): Promise<string>;
  /** A queue whose messages stay hidden `visibilityTimeoutSeconds` after a receive; its URL. */
  createQueue(name: string, visibilityTimeoutSeconds: number): Promise<string>;
  /** Lets pending transitions finish (a virtual clock advances); a no-op where they are instant. */
  settle(): Promise<void>;
}

export interface ContractBackend {
  cloud: Cloud;
  seed: ContractSeeder;
  teardown(): Promise<void>;
}
