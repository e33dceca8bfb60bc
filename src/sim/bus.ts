import type { InstanceState } from '../domain/types.js';

// What happens in the simulated region, as plain events: the Auto Scaling model follows instance
// states through it, the recorder measures from it, and the demo prints it.

export type SimEvent =
  | { type: 'instance-state'; instanceId: string; from: InstanceState | 'none'; to: InstanceState }
  | {
      type: 'spot-warning';
      instanceId: string;
      az: string;
      instanceType: string;
      deadline: number;
      storm?: string;
    }
  | { type: 'rebalance'; instanceId: string }
  | { type: 'member-state'; group: string; instanceId: string; state: string; az: string }
  | { type: 'member-removed'; group: string; instanceId: string; why: 'detached' | 'terminated' }
  | { type: 'detach'; group: string; instanceIds: string[]; decrement: boolean }
  | { type: 'attach'; group: string; instanceIds: string[] }
  | { type: 'launch-failed'; group: string; message: string }
  | { type: 'group-updated'; group: string; detail: string }
  | { type: 'storm'; name: string; pool: string; instances: number }
  | { type: 'outage'; name: string; azs: string[]; active: boolean }
  | {
      type: 'volume';
      volumeId: string;
      /** deleted: with its instance (DeleteOnTermination). */
      action: 'attached' | 'detached' | 'created' | 'deleted';
      instanceId?: string;
      az: string;
    };

export type SimListener = (e: SimEvent) => void;

export class SimBus {
  private readonly listeners: SimListener[] = [];
  on(listener: SimListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
  emit(e: SimEvent): void {
    for (const l of this.listeners) l(e);
  }
}
