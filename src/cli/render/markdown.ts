import { type GroupReport, type PlanReport, planSummary } from '../plan-report.js';
import { countsLine, formatValue } from './format-value.js';

// For a pull-request comment: a summary table, then one collapsible section per group so a long plan
// stays readable in review.

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function groupSection(g: GroupReport): string {
  const out = [
    `<details${g.actions.length > 0 || g.problems.length > 0 ? ' open' : ''}>`,
    `<summary><b>${cell(g.name)}</b>: ${g.actions.length} action(s)</summary>`,
    '',
  ];
  out.push(`${countsLine(g.observed)}${g.policy ? ` · policy \`${g.policy}\`` : ''}`, '');
  for (const p of g.problems) out.push(`- :warning: ${cell(p)}`);
  if (g.problems.length > 0) out.push('');
  if (g.actions.length > 0) {
    out.push('| action | target | reason |', '| --- | --- | --- |');
    for (const a of g.actions) out.push(`| \`${a.kind}\` | \`${a.target}\` | ${cell(a.reason)} |`);
    out.push('');
  }
  const set = Object.entries(g.config).filter(([, v]) => v.source !== 'default');
  if (set.length > 0) {
    out.push('| setting | value | source |', '| --- | --- | --- |');
    for (const [key, v] of set)
      out.push(`| \`${key}\` | \`${cell(formatValue(v.value))}\` | ${cell(v.source)} |`);
    out.push('');
  }
  out.push('</details>');
  return out.join('\n');
}

export function renderMarkdown(report: PlanReport): string {
  const out = [
    `### spotmax plan · ${report.region}`,
    '',
    `**${planSummary(report)}**`,
    '',
    `_Generated ${report.generatedAt}_`,
    '',
  ];
  if (report.groups.length === 0 && report.orphans.length === 0)
    return `${out.join('\n')}No Auto Scaling group carries a \`spotmax:*\` tag.\n`;
  out.push(
    '| group | managed | desired | in service | spot | on-demand | standby | actions |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const g of report.groups) {
    const o = g.observed;
    const managed = g.managed ? 'yes' : `no: ${cell(g.reason ?? '')}`;
    out.push(
      `| ${cell(g.name)} | ${managed} | ${o.desired} | ${o.inService} | ${o.spot} | ${o.onDemand} | ${o.standby} | ${g.actions.length} |`,
    );
  }
  out.push('');
  for (const g of report.groups.filter((x) => x.managed || x.problems.length > 0))
    out.push(groupSection(g), '');
  return `${out.join('\n')}\n`;
}
