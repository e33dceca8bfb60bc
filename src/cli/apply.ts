import { loadPoliciesOrFail } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { type CloudFlags, commandCloud } from './cloud.js';
import { computePass } from './compute-plan.js';
import type { CommandIO } from './io.js';
import { notificationsFor, publishPass } from './notifications.js';

export interface ApplyOptions extends CloudFlags {
  dryRun: boolean;
  /** false with --no-events. */
  events?: boolean;
  eventsBus?: string;
}

/** `spotmax apply`: one reconcile pass that acts. Exit 0 when every action succeeded, 2 otherwise. */
export async function applyCommand(opts: ApplyOptions, io: CommandIO): Promise<number> {
  const logger = createLogger({ pretty: true, destination: io.stderr });
  const target = await commandCloud(opts, io.env, logger);
  const policies = await loadPoliciesOrFail(target.policyPaths);
  const { result } = await target.drive(
    computePass({
      cloud: target.cloud,
      clock: target.clock,
      logger,
      policies,
      env: io.env,
      execute: true,
      dryRun: opts.dryRun,
    }),
  );
  let failed = 0;
  let done = 0;
  for (const g of result.groups) {
    for (const r of g.results) {
      if (r.status === 'failed' || r.status === 'unsupported') failed++;
      else done++;
      io.stdout.write(
        `${r.status.padEnd(8)} ${g.resolved.group.name}: ${r.action.kind} ${r.action.target} (${r.action.reason})${r.error ? `: ${r.error}` : ''}\n`,
      );
    }
  }
  for (const r of result.orphans.results) {
    if (r.status === 'failed' || r.status === 'unsupported') failed++;
    else done++;
    io.stdout.write(
      `${r.status.padEnd(8)} (orphan): ${r.action.kind} ${r.action.target} (${r.action.reason})${r.error ? `: ${r.error}` : ''}\n`,
    );
  }
  io.stdout.write(`${done} action(s) ${opts.dryRun ? 'would be taken' : 'taken'}, ${failed} failed.\n`);
  // What was done and what is wrong also goes to the operators' bus, as `run` publishes it (not in a dry run).
  await publishPass(result, notificationsFor(opts, io.env, target.simEvents), {
    dryRun: opts.dryRun,
    clock: target.clock,
    logger,
    region: target.cloud.region,
    drive: (p) => target.drive(p),
  });
  return failed > 0 ? 2 : 0;
}
