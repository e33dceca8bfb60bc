import { loadPoliciesOrFail } from '../config/load.js';
import { describeError, UserError } from '../domain/errors.js';
import { silentLogger } from '../ports/logger.js';
import { type CloudFlags, commandCloud } from './cloud.js';
import { computePass } from './compute-plan.js';
import type { CommandIO } from './io.js';
import { type PlanReport, planTotals } from './plan-report.js';
import { renderJson } from './render/json.js';
import { renderMarkdown } from './render/markdown.js';
import { renderText } from './render/text.js';

export interface PlanOptions extends CloudFlags {
  format: 'text' | 'json' | 'markdown';
  /** Exit 0 no changes, 2 changes pending, 1 problems (or an error), as terraform plan -detailed-exitcode. */
  detailedExitcode?: boolean;
  /** Only these groups (names or globs, repeatable). */
  group?: string[];
}

/** --detailed-exitcode: 1 when any group has a problem, else 2 when actions are pending, else 0. */
export function detailedExitCode(report: PlanReport): number {
  const t = planTotals(report);
  return t.problems > 0 ? 1 : t.actions > 0 ? 2 : 0;
}

export function render(report: PlanReport, format: PlanOptions['format']): string {
  if (format === 'json') return renderJson(report);
  if (format === 'markdown') return renderMarkdown(report);
  return renderText(report);
}

/** `spotmax plan`: observe and diff once, change nothing. */
export async function planCommand(opts: PlanOptions, io: CommandIO): Promise<number> {
  if (!opts.detailedExitcode) return plan(opts, io);
  // With --detailed-exitcode, 2 means "changes pending": an error must not read as that, so it is 1.
  try {
    return await plan(opts, io);
  } catch (err) {
    io.stderr.write(`spotmax: ${err instanceof UserError ? '' : 'error: '}${describeError(err)}\n`);
    return 1;
  }
}

async function plan(opts: PlanOptions, io: CommandIO): Promise<number> {
  const target = await commandCloud(opts, io.env);
  const policies = await loadPoliciesOrFail(target.policyPaths);
  const { report } = await target.drive(
    computePass({
      cloud: target.cloud,
      clock: target.clock,
      logger: silentLogger,
      policies,
      env: io.env,
      execute: false,
      dryRun: true,
      ...(opts.group?.length ? { groups: opts.group } : {}),
    }),
  );
  if (opts.group?.length && report.groups.length === 0)
    // A typo in --group must not read as "no changes" in a pipeline.
    throw new UserError(`--group ${opts.group.join(', ')}: no opted-in group matches`);
  io.stdout.write(render(report, opts.format));
  return opts.detailedExitcode ? detailedExitCode(report) : 0;
}
