import type { PlanReport } from '../plan-report.js';

export function renderJson(report: PlanReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
