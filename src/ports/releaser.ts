import type { Instance } from '../domain/types.js';

export type ReleaseMode = 'drain' | 'cordon';
export type ReleaseReason =
  | 'spot-interruption'
  | 'rebalance'
  | 'scheduled-change'
  | 'lifecycle-terminate'
  | 'state-change'
  | 'lifetime'
  | 'return-to-spot';

export interface ReleaseRequest {
  groupName: string;
  instance: Pick<Instance, 'instanceId' | 'availabilityZone' | 'privateIp' | 'privateDnsName'>;
  mode: ReleaseMode;
  reason: ReleaseReason;
  /** Work must be over by then; the detach follows regardless. */
  deadline: Date;
  signal: AbortSignal;
}

export type ReleaseStatus = 'done' | 'partial' | 'failed' | 'skipped';

export interface ReleaseOutcome {
  step: string;
  status: ReleaseStatus;
  durationMs: number;
  detail?: string;
  /** Step-specific counters (podsEvicted, servicesDeregistered, ...). */
  counts?: Record<string, number>;
}

/** One step that moves work off an instance before it goes: Kubernetes drain, Consul deregistration. */
export interface Releaser {
  readonly name: string;
  release(req: ReleaseRequest): Promise<ReleaseOutcome>;
}
