import { type GroupReport, type PlanReport, planSummary } from '../plan-report.js';
import { countsLine, formatValue } from './format-value.js';

// For a terminal: a summary table first, then each managed group's details. Defaults are left out of
// the settings list so what a person set stands out.

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function groupDetails(g: GroupReport): string {
  const lines = [`== ${g.name}${g.policy ? ` (policy ${g.policy})` : ''}`, `   ${countsLine(g.observed)}`];
  for (const p of g.problems) lines.push(`   problem: ${p}`);
  const set = Object.entries(g.config).filter(([, v]) => v.source !== 'default');
  if (set.length > 0) {
    lines.push('   settings (not default):');
    for (const [key, v] of set) lines.push(`     ${key} = ${formatValue(v.value)}   [${v.source}]`);
  }
  if (g.actions.length === 0) lines.push('   no action: in the desired state');
  for (const a of g.actions) lines.push(`   + ${a.kind} ${a.target}: ${a.reason}`);
  return lines.join('\n');
}

export function renderText(report: PlanReport): string {
  if (report.groups.length === 0 && report.orphans.length === 0) {
    return `spotmax plan for ${report.region} at ${report.generatedAt}\nNo Auto Scaling group carries a spotmax:* tag.\n`;
  }
  const rows = [
    ['GROUP', 'MANAGED', 'DESIRED', 'IN SERVICE', 'SPOT', 'ON-DEMAND', 'STANDBY', 'ACTIONS', 'NOTE'],
  ];
  for (const g of report.groups) {
    const o = g.observed;
    rows.push([
      g.name,
      g.managed ? 'yes' : 'no',
      String(o.desired),
      String(o.inService),
      String(o.spot),
      String(o.onDemand),
      String(o.standby),
      String(g.actions.length),
      g.managed ? (g.problems.length > 0 ? `${g.problems.length} problem(s)` : '') : (g.reason ?? ''),
    ]);
  }
  const details = report.groups.filter((g) => g.managed || g.problems.length > 0).map(groupDetails);
  const orphans = report.orphans.map((a) => `   + ${a.kind} ${a.target}: ${a.reason}`);
  if (orphans.length > 0) details.push(['== standbys of groups that no longer exist', ...orphans].join('\n'));
  return [
    planSummary(report),
    `spotmax plan for ${report.region} at ${report.generatedAt}`,
    '',
    table(rows),
    '',
    ...details.flatMap((d) => [d, '']),
  ].join('\n');
}
