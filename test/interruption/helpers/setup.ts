import type { ResolvedGroup } from '../../../src/config/resolved.js';
import { defaultSettings, type GroupSettings } from '../../../src/config/schema.js';
import {
  createInterruptionController,
  type InterruptionDeps,
} from '../../../src/controllers/interruption/controller.js';
import { createDirectory } from '../../../src/controllers/interruption/directory.js';
import { buildSampleEvent } from '../../../src/domain/sample-events.js';
import type { Group } from '../../../src/domain/types.js';
import type { Clock } from '../../../src/ports/clock.js';
import type { Logger } from '../../../src/ports/logger.js';
import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../../../src/ports/releaser.js';
import { NoopReleaser } from '../../../src/release/noop.js';

/** Managed = carries a spotmax:* tag; settings are the defaults with per-group overrides. */
export function simpleResolve(overrides: Record<string, (s: GroupSettings) => void> = {}) {
  return (groups: Group[]): ResolvedGroup[] =>
    groups.map((group) => {
      const managed = group.tags.some((t) => t.key.startsWith('spotmax:'));
      const settings = defaultSettings();
      overrides[group.name]?.(settings);
      return managed
        ? { group, managed, problems: [], settings, provenance: {} }
        : { group, managed, unmanagedReason: 'no spotmax tag', problems: [], provenance: {} };
    });
}

/** A logger that keeps every line, for assertions on what was logged. */
export function captureLogger(
  lines: { level: string; obj: object; msg?: string }[] = [],
): Logger & { lines: typeof lines } {
  const make = (bindings: object): Logger => ({
    info: (obj, msg) => void lines.push({ level: 'info', obj: { ...bindings, ...obj }, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj: { ...bindings, ...obj }, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj: { ...bindings, ...obj }, msg }),
    debug: () => {},
    child: (b) => make({ ...bindings, ...b }),
  });
  return Object.assign(make({}), { lines });
}

export interface ControllerSetup {
  cloud: InterruptionDeps['cloud'];
  clock: Clock;
  logger?: Logger;
  overrides?: Record<string, (s: GroupSettings) => void>;
  releasers?: Releaser[];
  deps?: Partial<InterruptionDeps>;
}

export function makeController(s: ControllerSetup) {
  const directory = createDirectory({
    cloud: s.cloud,
    resolve: simpleResolve(s.overrides),
    clock: s.clock,
    ttlMs: 1000,
  });
  const controller = createInterruptionController({
    cloud: s.cloud,
    clock: s.clock,
    logger: s.logger ?? captureLogger(),
    queueUrls: ['q1'],
    pollers: 1,
    concurrency: 16,
    dryRun: false,
    directory,
    releasersFor: () => s.releasers ?? [new NoopReleaser()],
    ...s.deps,
  });
  return { controller, directory };
}

let n = 0;
/** A QueueMessage around a body, for calling handleMessage directly. */
export function msg(body: unknown) {
  n++;
  return {
    messageId: `m-${n}`,
    receiptHandle: `r-${n}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    receiveCount: 1,
  };
}

/** A release step that records each request and succeeds at once. */
export function recordingReleaser(name = 'rec'): Releaser & { requests: ReleaseRequest[] } {
  const requests: ReleaseRequest[] = [];
  return {
    name,
    requests,
    release: async (r) => {
      requests.push(r);
      return { step: name, status: 'done', durationMs: 0 };
    },
  };
}

/** Polls `cond` every few ms until it holds; fails naming `what` after `ms`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A release step that reports `outcome` at once (its name is the outcome's step). */
export const fixedReleaser = (outcome: ReleaseOutcome): Releaser => ({
  name: outcome.step,
  release: async () => outcome,
});

/** A release step that runs until it is aborted (then reports `partial`); `started` tells when it began. */
export function hangingReleaser(): Releaser & { started: boolean } {
  const step = {
    name: 'hang',
    started: false,
    release: (r: ReleaseRequest) =>
      new Promise<ReleaseOutcome>((resolve) => {
        step.started = true;
        r.signal.addEventListener('abort', () => resolve({ step: 'hang', status: 'partial', durationMs: 0 }));
      }),
  };
  return step;
}

/** A Spot warning for `instanceId` as a queue body. */
export const warningBody = (instanceId: string, time?: Date) =>
  JSON.stringify(buildSampleEvent({ type: 'spot-interruption', instanceId, region: 'us-east-1', time }));
