import { loadPoliciesOrFail } from '../config/load.js';
import { silentLogger } from '../ports/logger.js';
import { type CloudFlags, commandCloud } from './cloud.js';
import { computePass } from './compute-plan.js';
import type { CommandIO } from './io.js';
import type { PlanReport } from './plan-report.js';
import { renderJson } from './render/json.js';
import { renderMarkdown } from './render/markdown.js';
import { renderText } from './render/text.js';

export interface PlanOptions extends CloudFlags {
  format: 'text' | 'json' | 'markdown';
}

export function render(report: PlanReport, format: PlanOptions['format']): string {
  if (format === 'json') return renderJson(report);
  if (format === 'markdown') return renderMarkdown(report);
  return renderText(report);
}

/** `spotmax plan`: observe and diff once, change nothing. */
export async function planCommand(opts: PlanOptions, io: CommandIO): Promise<number> {
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
    }),
  );
  io.stdout.write(render(report, opts.format));
  return 0;
}
