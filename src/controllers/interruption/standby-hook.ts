import type { GroupSettings } from '../../config/schema.js';
import type { Instance } from '../../domain/types.js';

/**
 * Where the fast path asks the standby pool (the reconciler's) for capacity. When it returns the id of a
 * standby it has attached to the group, the interrupted instance is detached WITH decrement (the standby
 * took its place); otherwise it is detached without, so the ASG launches a replacement.
 */
export interface StandbyHook {
  takeStandby(args: {
    groupName: string;
    settings: GroupSettings;
    interrupted: Instance;
    deadline: Date;
    signal: AbortSignal;
  }): Promise<TakenStandby | undefined>;
}

export interface TakenStandby {
  instanceId: string;
  /**
   * Called once the interrupted instance's detach is over (sent or failed): gives back what the swap
   * borrowed (the MaxSize headroom AttachInstances needed in a group at max = desired), and when the
   * interrupted instance had already left the group by other hands (`already-gone`: no detach, so no
   * decrement) takes back the capacity the attach added, once.
   */
  finish?: (detach?: SwapDetachOutcome) => Promise<void>;
}

/** How the interrupted instance's detach ended, for the swap to finish by. */
export type SwapDetachOutcome = 'detached' | 'already-gone' | 'dry-run' | 'failed';
