import type { GroupSettings } from '../../config/schema.js';
import type { Notice } from '../../observability/notices.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { Releaser } from '../../ports/releaser.js';
import type { ClaimStore } from './claims.js';
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

/** What the caller supplies and the handlers use as given. */
export interface HandlerDeps {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** Resolve targets and log every action; change nothing, delete nothing. */
  dryRun: boolean;
  directory: GroupDirectory;
  releasersFor(groupName: string, settings: GroupSettings): Releaser[];
  /** Called after the fast path changed a group, so the reconciler can look at it soon. */
  onGroupTouched?(groupName: string): void;
  standby?: StandbyHook;
  /** Extension point for launch lifecycle hooks (volume attach); CONTINUE follows it. */
  prepareLaunch?: LaunchPreparer;
  /** Several replicas: the coordination store where one claims an instance's work (claims.ts). */
  claims?: ClaimStore;
  /** Tells the operators' bus about an action taken (observability/notifier.ts); returns at once. */
  notify?(notice: Notice): void;
}

/** What the event handlers share. */
export interface HandlerContext extends HandlerDeps {
  coalescer: DetachCoalescer;
  /** Work already done, by deterministic key (`i-123/release`, `lifecycle/<group>/<hook>/<id>/<token>`). */
  done: DedupeStore<string>;
  stats: InterruptionStats;
  /** Release steps must end this long before the deadline, leaving room for the detach. */
  releaseMarginMs: number;
  /**
   * The delivery of the message being handled (SQS ApproximateReceiveCount) and whether it is the last
   * before the message is given up: failure notices say whether another attempt follows.
   */
  attempt?: { count: number; last: boolean };
}

/** The two minutes of a Spot warning. */
export const WARNING_MS = 120_000;
