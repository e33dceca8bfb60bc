import type { GroupSettings } from '../../config/schema.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { Releaser } from '../../ports/releaser.js';
import type { DedupeStore } from './dedupe-store.js';
import type { DetachCoalescer } from './detach-coalescer.js';
import type { GroupDirectory } from './directory.js';
import type { StandbyHook } from './standby-hook.js';
import type { InterruptionStats } from './stats.js';

/** Extension point: work before a launching instance may go InService (a later issue attaches its volume). */
export type LaunchPreparer = (args: {
  groupName: string;
  settings: GroupSettings;
  instanceId: string;
  deadline: Date;
  signal: AbortSignal;
}) => Promise<void>;

/** What the event handlers share. */
export interface HandlerContext {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  dryRun: boolean;
  directory: GroupDirectory;
  releasersFor(groupName: string, settings: GroupSettings): Releaser[];
  onGroupTouched?(groupName: string): void;
  standby?: StandbyHook;
  prepareLaunch?: LaunchPreparer;
  coalescer: DetachCoalescer;
  /** Work already done, by deterministic key (`i-123/release`, `lifecycle/<group>/<hook>/<id>/<token>`). */
  done: DedupeStore<string>;
  stats: InterruptionStats;
  /** Release steps must end this long before the deadline, leaving room for the detach. */
  releaseMarginMs: number;
}

/** The two minutes of a Spot warning. */
export const WARNING_MS = 120_000;
