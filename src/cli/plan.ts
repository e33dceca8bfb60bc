import type { CommandIO } from '../main.js';
import { awsCloudFrom } from './cloud.js';
import { computePlan } from './compute-plan.js';
import { loadPoliciesOrFail } from './policies.js';
import { renderJson } from './render/json.js';
import { renderMarkdown } from './render/markdown.js';
import { renderText } from './render/text.js';
import { policyPaths } from './runtime.js';
import type { PlanReport } from './plan-report.js';
import { systemClock } from '../ports/clock.js';
import { simCloudForCommand } from './sim-cloud.js';

export interface PlanOptions {
  format: 'text' | 'json' | 'markdown';
  cloud: 'aws' | 'sim';
  policies?: string;
  region?: string;
}

export function render(report: PlanReport, format: PlanOptions['format']): string {
  if (format === 'json') return renderJson(report);
  if (format === 'markdown') return renderMarkdown(report);
  return renderText(report);
}

/** `spotmax plan`: observe and diff once, change nothing. */
export async function planCommand(opts: PlanOptions, io: CommandIO): Promise<number> {
  const policies = await loadPoliciesOrFail(policyPaths(opts, io.env));
  const { cloud, clock } = opts.cloud === 'sim' ? await simCloudForCommand() : { cloud: awsCloudFrom(opts, io.env), clock: systemClock };
  const { report } = await computePlan(cloud, clock, policies);
  io.stdout.write(render(report, opts.format));
  return 0;
}
