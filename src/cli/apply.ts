import { loadPoliciesOrFail } from '../config/load.js';
import type { ActionResult } from '../controllers/reconcile/executor.js';
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
  // Each action is printed once, as a result line on stdout; the handlers' own info lines would repeat
  // it on stderr, so only warnings and errors go there.
  const logger = createLogger({ pretty: true, destination: io.stderr, level: 'warn' });
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
  const counts = { done: 0, 'dry-run': 0, failed: 0, unsupported: 0, refused: 0 };
  const print = (where: string, r: ActionResult) => {
    counts[r.status]++;
    io.stdout.write(
      `${r.status.padEnd(8)} ${where}: ${r.action.kind} ${r.action.target} (${r.action.reason})${r.error ? `: ${r.error}` : ''}\n`,
    );
  };
  for (const g of result.groups) for (const r of g.results) print(g.resolved.group.name, r);
  for (const r of result.orphans.results) print('(orphan)', r);
  const failed = counts.failed + counts.unsupported;
  // A dry-run action was not taken: it is counted apart, never as taken.
  io.stdout.write(
    `${counts.done} action(s) taken${counts['dry-run'] > 0 || opts.dryRun ? `, ${counts['dry-run']} not taken (dry run)` : ''}, ${failed} failed.\n`,
  );
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
